// An index from ids (agent and framework ids) to the positions of the
// records that hold them: open addressing over a flat array of (hash, index)
// slots, the id itself read from the record (via the `idOf` callable) only
// to confirm a match. A lookup is a hash, usually one slot, and the record
// the caller goes on to use anyway; no string is built and no node chased.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace mantle::allocator_engine {

class IdIndex {
 public:
  static constexpr std::uint32_t kAbsent = 0xffffffffu;

  static std::uint64_t hash(std::string_view s) {
    // FNV-1a, then a multiplicative mix so that the low bits depend on every byte.
    std::uint64_t h = 14695981039346656037ull;
    for (char c : s) {
      h ^= static_cast<std::uint8_t>(c);
      h *= 1099511628211ull;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h;
  }

  std::size_t size() const { return size_; }

  // The index stored for `id`, or kAbsent.
  template <class IdOf>
  std::uint32_t find(std::string_view id, const IdOf& idOf) const {
    if (size_ == 0) return kAbsent;
    std::uint64_t h = hash(id);
    auto tag = static_cast<std::uint32_t>(h >> 32);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.index == kAbsent) return kAbsent;
      if (s.tag == tag && std::string_view(idOf(s.index)) == id) return s.index;
    }
  }

  // Adds `id` -> `index`; `id` must not be present.
  template <class IdOf>
  void insert(std::string_view id, std::uint32_t index, const IdOf& idOf) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow(idOf);
    place(hash(id), index);
    ++size_;
  }

  // Removes `id` if present (backward-shift deletion: no tombstones).
  template <class IdOf>
  void erase(std::string_view id, const IdOf& idOf) {
    if (size_ == 0) return;
    std::uint64_t h = hash(id);
    auto tag = static_cast<std::uint32_t>(h >> 32);
    std::size_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.index == kAbsent) return;
      if (s.tag == tag && std::string_view(idOf(s.index)) == id) break;
    }
    std::size_t hole = i;
    for (std::size_t j = (hole + 1) & mask_; slots_[j].index != kAbsent; j = (j + 1) & mask_) {
      std::size_t home = hash(idOf(slots_[j].index)) & mask_;
      // Slot j may move to the hole when its home is not in (hole, j].
      bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!between) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = Slot{};
    --size_;
  }

 private:
  struct Slot {
    std::uint32_t tag = 0;
    std::uint32_t index = kAbsent;
  };

  void place(std::uint64_t h, std::uint32_t index) {
    std::size_t i = h & mask_;
    while (slots_[i].index != kAbsent) i = (i + 1) & mask_;
    slots_[i] = Slot{static_cast<std::uint32_t>(h >> 32), index};
  }

  template <class IdOf>
  void grow(const IdOf& idOf) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.index != kAbsent) place(hash(idOf(s.index)), s.index);
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace mantle::allocator_engine
