// Resource math for allocator modules: interned resource kinds, resource
// collections (scalars, ranges, sets) and scalar quantities. A module may not
// include core headers, so allocators carry their own.
//
// A "kind" is everything about a Resource except its value and allocation
// role: name, type, reservation stack, disk info, revocable/shared markers.
// Two resources of the same kind merge by adding their values. Kinds are
// interned in a Catalog so that collections hold small integers.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mantle/module/v1/mesos.pb.h"
#include "mantle/result.hpp"

namespace mantle::allocator_engine {

namespace v1 = ::mantle::module::v1;

using KindId = std::uint32_t;
using NameId = std::uint32_t;

// Scalar values are kept at three decimal digits, as Mesos does, so that
// repeated additions and subtractions do not drift.
inline double roundScalar(double value) {
  double x = value * 1000.0;
  // std::round(x) without the library call (exact below 2^52).
  if (!(std::fabs(x) < 4503599627370496.0)) return std::round(x) / 1000.0;
  double t = static_cast<double>(static_cast<std::int64_t>(x));
  double d = x - t;
  if (d >= 0.5) {
    t += 1.0;
  } else if (d <= -0.5) {
    t -= 1.0;
  }
  return std::copysign(t, x) / 1000.0;
}

struct KindInfo {
  std::string name;
  NameId nameId = 0;
  v1::Value::Type type = v1::Value::SCALAR;
  v1::Resource prototype;  // value and allocation_info cleared
  std::string role;        // the owner of the reservation ("" when unreserved)
  bool reserved = false;
  bool refined = false;    // a reservation stack deeper than one
  bool revocable = false;
  bool shared = false;
  bool gpu = false;
};

using Range = std::pair<std::uint64_t, std::uint64_t>;  // [first, last]

struct Entry {
  KindId kind = 0;
  double scalar = 0;
  std::vector<Range> ranges;      // sorted, disjoint, not adjacent
  std::vector<std::string> items; // sorted, unique
};

class Catalog {
 public:
  // The kind of `resource` (interning it when new); an error for a resource
  // that is malformed (no name, a value that does not match its type).
  Result<KindId> intern(const v1::Resource& resource);
  const KindInfo& kind(KindId id) const { return kinds_[id]; }
  std::size_t nameCount() const { return names_.size(); }
  const std::string& name(NameId id) const { return names_[id]; }
  // The id of `name`, interning it.
  NameId nameId(const std::string& name);
  // -1 when the name was never seen.
  std::int64_t findName(const std::string& name) const;
  // The kind intern() gives a plain resource (a name and a type, nothing
  // else) when it is among the cached plain kinds; false otherwise (intern()
  // may still know it).
  bool findPlain(std::string_view name, v1::Value::Type type, KindId* kind) const {
    for (const Plain& p : plain_) {
      if (p.type == type && p.name == name) {
        *kind = p.kind;
        return true;
      }
    }
    return false;
  }

 private:
  std::vector<KindInfo> kinds_;
  std::unordered_map<std::string, KindId> byKey_;
  // The first plain kinds (a name and a type, nothing else), searched
  // before byKey_: a handful of names make up almost every resource.
  struct Plain {
    std::string name;
    v1::Value::Type type;
    KindId kind;
  };
  static constexpr std::size_t kPlainCache = 16;
  std::vector<Plain> plain_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, NameId> byName_;
};

// Scalar amounts per resource name, indexed by NameId. The first names live
// inline (no allocation on the hot path); later ones spill to the heap.
class Quantities {
 public:
  static constexpr std::size_t kInline = 8;
  double get(NameId n) const {
    if (n < kInline) return inline_[n];
    return n - kInline < extra_.size() ? extra_[n - kInline] : 0.0;
  }
  void set(NameId n, double v) {
    if (n < kInline) {
      inline_[n] = roundScalar(v);
    } else {
      *slot(n) = roundScalar(v);
    }
  }
  void add(NameId n, double v) { set(n, get(n) + v); }
  void add(const Quantities& other);
  void subtract(const Quantities& other);
  bool empty() const;
  std::size_t size() const { return kInline + extra_.size(); }
  bool operator==(const Quantities& other) const;

 private:
  double* slot(NameId n);
  std::array<double, kInline> inline_{};
  std::vector<double> extra_;
};

// A collection of resources: entries sorted by kind, at most one per kind,
// no empty values.
class Resources {
 public:
  Resources() = default;

  // Parses protobuf resources into `catalog`'s kinds.
  static Result<Resources> fromProto(Catalog& catalog, const google::protobuf::RepeatedPtrField<v1::Resource>& list);

  bool empty() const { return entries_.empty(); }
  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<Entry>& mutableEntries() { return entries_; }

  void add(const Resources& other);
  // Same as add(other); takes other's storage when this collection is empty.
  void add(Resources&& other);
  void add(Entry entry);
  // Same kinds with the same values.
  bool operator==(const Resources& other) const;
  // Removes `other`; requires contains(other).
  void subtract(const Resources& other);
  // Removes what `other` has in common with this collection.
  void subtractClamped(const Resources& other);
  bool contains(const Resources& other) const;
  // Drops empty entries and keeps entries sorted by kind (after direct
  // edits of entries).
  void normalize();

  // Scalar amounts per name of every scalar entry.
  Quantities quantities(const Catalog& catalog) const;
  // Scalar amounts of the unreserved, non-revocable scalar entries (what
  // quota counts).
  Quantities unreservedQuantities(const Catalog& catalog) const;

  // Both of the above in one pass.
  void quantities(const Catalog& catalog, Quantities* all, Quantities* unreserved) const;

  // Appends the resources to `out`, each with allocation_info.role = `role`
  // (none when empty).
  void toProto(const Catalog& catalog, const std::string& role,
               google::protobuf::RepeatedPtrField<v1::Resource>* out) const;
  std::string debugString(const Catalog& catalog) const;

 private:
  std::vector<Entry> entries_;
};

// Sets `r` to one entry of kind `kind`, with allocation_info.role = `role`
// (none when empty), as Resources::toProto writes it.
void entryToProto(const KindInfo& kind, const Entry& entry, const std::string& role, v1::Resource* r);

// Interval arithmetic on normalized range lists.
std::vector<Range> addRanges(const std::vector<Range>& a, const std::vector<Range>& b);
std::vector<Range> subtractRanges(const std::vector<Range>& a, const std::vector<Range>& b);
bool containsRanges(const std::vector<Range>& a, const std::vector<Range>& b);
void normalizeRanges(std::vector<Range>& ranges);

// True when `role` is `ancestor` or one of its sub-roles ("eng" covers
// "eng/backend").
bool roleCovers(const std::string& ancestor, const std::string& role);

}  // namespace mantle::allocator_engine
