#include "resources.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace mantle::allocator_engine {

bool roleCovers(const std::string& ancestor, const std::string& role) {
  if (ancestor.size() > role.size()) return false;
  if (role.compare(0, ancestor.size(), ancestor) != 0) return false;
  return role.size() == ancestor.size() || role[ancestor.size()] == '/';
}

// ---- Catalog ---------------------------------------------------------------

NameId Catalog::nameId(const std::string& name) {
  auto it = byName_.find(name);
  if (it != byName_.end()) return it->second;
  NameId id = static_cast<NameId>(names_.size());
  names_.push_back(name);
  byName_.emplace(name, id);
  return id;
}

std::int64_t Catalog::findName(const std::string& name) const {
  auto it = byName_.find(name);
  return it == byName_.end() ? -1 : static_cast<std::int64_t>(it->second);
}

Result<KindId> Catalog::intern(const v1::Resource& resource) {
  if (!resource.has_name() || resource.name().empty()) return invalidArgument("a resource has no name");
  v1::Value::Type type = resource.type();
  switch (type) {
    case v1::Value::SCALAR:
      if (!resource.has_scalar())
        return invalidArgument("resource '" + resource.name() + "' is a SCALAR without a value");
      if (!std::isfinite(resource.scalar().value()) || resource.scalar().value() < 0) {
        return invalidArgument("resource '" + resource.name() + "' has a negative or non-finite value");
      }
      break;
    case v1::Value::RANGES:
      if (!resource.has_ranges()) return invalidArgument("resource '" + resource.name() + "' is RANGES without ranges");
      break;
    case v1::Value::SET:
      if (!resource.has_set()) return invalidArgument("resource '" + resource.name() + "' is a SET without items");
      break;
    default: return invalidArgument("resource '" + resource.name() + "' has type TEXT, which cannot be allocated");
  }

  bool plain =
      resource.reservations_size() == 0 && !resource.has_disk() && !resource.has_revocable() && !resource.has_shared();
  if (plain) {
    for (const Plain& p : plain_) {
      if (p.type == type && p.name == resource.name()) return p.kind;
    }
  }
  std::string key = resource.name();
  key.push_back('\0');
  key.push_back(static_cast<char>('0' + static_cast<int>(type)));
  v1::Resource prototype;
  if (!plain) {
    prototype = resource;
    prototype.clear_scalar();
    prototype.clear_ranges();
    prototype.clear_set();
    prototype.clear_allocation_info();
    key.push_back('\0');
    // Deterministic for one binary: the same kind always encodes the same.
    key += prototype.SerializeAsString();
  }
  auto it = byKey_.find(key);
  if (it != byKey_.end()) {
    if (plain && plain_.size() < kPlainCache) plain_.push_back(Plain{resource.name(), type, it->second});
    return it->second;
  }

  if (plain) {
    prototype.set_name(resource.name());
    prototype.set_type(type);
  }
  KindInfo info;
  info.name = resource.name();
  info.nameId = nameId(resource.name());
  info.type = type;
  info.prototype = std::move(prototype);
  if (resource.reservations_size() > 0) {
    info.reserved = true;
    info.role = resource.reservations(resource.reservations_size() - 1).role();
    info.refined = resource.reservations_size() > 1;
    if (info.role.empty())
      return invalidArgument("resource '" + resource.name() + "' has a reservation without a role");
  }
  info.revocable = resource.has_revocable();
  info.shared = resource.has_shared();
  info.gpu = resource.name() == "gpus";
  KindId id = static_cast<KindId>(kinds_.size());
  kinds_.push_back(std::move(info));
  byKey_.emplace(std::move(key), id);
  if (plain && plain_.size() < kPlainCache) plain_.push_back(Plain{resource.name(), type, id});
  return id;
}

// ---- Quantities ------------------------------------------------------------

double* Quantities::slot(NameId n) {
  if (n < kInline) return &inline_[n];
  if (n - kInline >= extra_.size()) extra_.resize(n - kInline + 1, 0.0);
  return &extra_[n - kInline];
}

void Quantities::add(const Quantities& other) {
  for (std::size_t i = 0; i < kInline; ++i) {
    if (other.inline_[i] != 0) inline_[i] = roundScalar(inline_[i] + other.inline_[i]);
  }
  for (std::size_t i = 0; i < other.extra_.size(); ++i) add(static_cast<NameId>(kInline + i), other.extra_[i]);
}

void Quantities::subtract(const Quantities& other) {
  for (std::size_t i = 0; i < kInline; ++i) {
    if (other.inline_[i] != 0) inline_[i] = roundScalar(inline_[i] - other.inline_[i]);
  }
  for (std::size_t i = 0; i < other.extra_.size(); ++i) add(static_cast<NameId>(kInline + i), -other.extra_[i]);
}

bool Quantities::empty() const {
  for (double v : inline_) {
    if (v > 0) return false;
  }
  for (double v : extra_) {
    if (v > 0) return false;
  }
  return true;
}

bool Quantities::operator==(const Quantities& other) const {
  std::size_t n = std::max(size(), other.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (get(static_cast<NameId>(i)) != other.get(static_cast<NameId>(i))) return false;
  }
  return true;
}

// ---- ranges ----------------------------------------------------------------

void normalizeRanges(std::vector<Range>& ranges) {
  if (ranges.size() < 2) return;
  std::sort(ranges.begin(), ranges.end());
  // Merge in place: ranges[0, kept) is the normalized prefix.
  std::size_t kept = 1;
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    Range& last = ranges[kept - 1];
    if (ranges[i].first <= last.second + 1) {
      last.second = std::max(last.second, ranges[i].second);
    } else {
      ranges[kept++] = ranges[i];
    }
  }
  ranges.resize(kept);
}

std::vector<Range> addRanges(const std::vector<Range>& a, const std::vector<Range>& b) {
  std::vector<Range> out(a);
  out.insert(out.end(), b.begin(), b.end());
  normalizeRanges(out);
  return out;
}

std::vector<Range> subtractRanges(const std::vector<Range>& a, const std::vector<Range>& b) {
  std::vector<Range> out;
  std::size_t j = 0;
  for (Range r : a) {
    while (j < b.size() && b[j].second < r.first) ++j;
    std::size_t k = j;
    bool alive = true;
    while (k < b.size() && b[k].first <= r.second) {
      if (b[k].first > r.first) out.emplace_back(r.first, b[k].first - 1);
      if (b[k].second >= r.second) {
        alive = false;
        break;
      }
      r.first = b[k].second + 1;
      ++k;
    }
    if (alive) out.push_back(r);
  }
  return out;
}

bool containsRanges(const std::vector<Range>& a, const std::vector<Range>& b) {
  std::size_t i = 0;
  for (const Range& r : b) {
    while (i < a.size() && a[i].second < r.first) ++i;
    if (i == a.size() || a[i].first > r.first || a[i].second < r.second) return false;
  }
  return true;
}

// ---- Resources -------------------------------------------------------------

namespace {

bool entryEmpty(const Entry& e, const Catalog* catalog = nullptr) {
  (void)catalog;
  return e.scalar <= 0 && e.ranges.empty() && e.items.empty();
}

void addInto(Entry& into, const Entry& from) {
  into.scalar = roundScalar(into.scalar + from.scalar);
  if (!from.ranges.empty()) {
    if (into.ranges.empty()) {
      into.ranges.assign(from.ranges.begin(), from.ranges.end());
    } else {
      into.ranges = addRanges(into.ranges, from.ranges);
    }
  }
  if (!from.items.empty()) {
    std::vector<std::string> merged;
    std::set_union(into.items.begin(), into.items.end(), from.items.begin(), from.items.end(),
                   std::back_inserter(merged));
    into.items = std::move(merged);
  }
}

void subtractFrom(Entry& into, const Entry& from) {
  into.scalar = std::max(0.0, roundScalar(into.scalar - from.scalar));
  if (!from.ranges.empty() && !into.ranges.empty()) {
    if (from.ranges == into.ranges) {
      into.ranges.clear();
    } else {
      into.ranges = subtractRanges(into.ranges, from.ranges);
    }
  }
  if (!from.items.empty() && !into.items.empty()) {
    std::vector<std::string> left;
    std::set_difference(into.items.begin(), into.items.end(), from.items.begin(), from.items.end(),
                        std::back_inserter(left));
    into.items = std::move(left);
  }
}

bool entryContains(const Entry& a, const Entry& b) {
  if (b.scalar > a.scalar + 1e-9) return false;
  if (!containsRanges(a.ranges, b.ranges)) return false;
  return std::includes(a.items.begin(), a.items.end(), b.items.begin(), b.items.end());
}

}  // namespace

Result<Resources> Resources::fromProto(Catalog& catalog, const google::protobuf::RepeatedPtrField<v1::Resource>& list) {
  Resources out;
  for (const v1::Resource& r : list) {
    Result<KindId> kind = catalog.intern(r);
    if (!kind.ok()) return kind.error();
    Entry e;
    e.kind = *kind;
    switch (r.type()) {
      case v1::Value::SCALAR: e.scalar = roundScalar(r.scalar().value()); break;
      case v1::Value::RANGES:
        for (const v1::Value::Range& range : r.ranges().range()) {
          if (range.begin() > range.end()) {
            return invalidArgument("resource '" + r.name() + "' has a range whose begin exceeds its end");
          }
          e.ranges.emplace_back(range.begin(), range.end());
        }
        normalizeRanges(e.ranges);
        break;
      case v1::Value::SET:
        e.items.assign(r.set().item().begin(), r.set().item().end());
        std::sort(e.items.begin(), e.items.end());
        e.items.erase(std::unique(e.items.begin(), e.items.end()), e.items.end());
        break;
      default: break;
    }
    out.add(std::move(e));
  }
  return out;
}

void Resources::add(Entry entry) {
  if (entryEmpty(entry)) return;
  auto it = std::lower_bound(entries_.begin(), entries_.end(), entry.kind,
                             [](const Entry& e, KindId k) { return e.kind < k; });
  if (it != entries_.end() && it->kind == entry.kind) {
    addInto(*it, entry);
  } else {
    entries_.insert(it, std::move(entry));
  }
}

void Resources::add(const Resources& other) {
  if (entries_.empty()) {
    entries_ = other.entries_;
    return;
  }
  // Fast path: every kind of `other` is already here; add in place.
  {
    std::size_t i = 0;
    bool inPlace = true;
    for (const Entry& e : other.entries_) {
      while (i < entries_.size() && entries_[i].kind < e.kind) ++i;
      if (i == entries_.size() || entries_[i].kind != e.kind) {
        inPlace = false;
        break;
      }
    }
    if (inPlace) {
      i = 0;
      for (const Entry& e : other.entries_) {
        while (entries_[i].kind < e.kind) ++i;
        addInto(entries_[i], e);
      }
      return;
    }
  }
  std::vector<Entry> merged;
  merged.reserve(entries_.size() + other.entries_.size());
  std::size_t i = 0, j = 0;
  while (i < entries_.size() || j < other.entries_.size()) {
    if (j == other.entries_.size() || (i < entries_.size() && entries_[i].kind < other.entries_[j].kind)) {
      merged.push_back(std::move(entries_[i++]));
    } else if (i == entries_.size() || other.entries_[j].kind < entries_[i].kind) {
      merged.push_back(other.entries_[j++]);
    } else {
      Entry e = std::move(entries_[i++]);
      addInto(e, other.entries_[j++]);
      merged.push_back(std::move(e));
    }
  }
  entries_ = std::move(merged);
}

void Resources::add(Resources&& other) {
  if (entries_.empty()) {
    entries_ = std::move(other.entries_);
    other.entries_.clear();
    return;
  }
  add(static_cast<const Resources&>(other));
}

bool Resources::operator==(const Resources& other) const {
  if (entries_.size() != other.entries_.size()) return false;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& a = entries_[i];
    const Entry& b = other.entries_[i];
    if (a.kind != b.kind || a.scalar != b.scalar || a.ranges != b.ranges || a.items != b.items) return false;
  }
  return true;
}

void Resources::subtractClamped(const Resources& other) {
  std::size_t j = 0;
  for (Entry& e : entries_) {
    while (j < other.entries_.size() && other.entries_[j].kind < e.kind) ++j;
    if (j < other.entries_.size() && other.entries_[j].kind == e.kind) subtractFrom(e, other.entries_[j]);
  }
  normalize();
}

void Resources::subtract(const Resources& other) {
  subtractClamped(other);
}

bool Resources::contains(const Resources& other) const {
  std::size_t i = 0;
  for (const Entry& e : other.entries_) {
    while (i < entries_.size() && entries_[i].kind < e.kind) ++i;
    if (i == entries_.size() || entries_[i].kind != e.kind) return false;
    if (!entryContains(entries_[i], e)) return false;
  }
  return true;
}

void Resources::normalize() {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [](const Entry& e) { return entryEmpty(e); }),
                 entries_.end());
  if (!std::is_sorted(entries_.begin(), entries_.end(),
                      [](const Entry& a, const Entry& b) { return a.kind < b.kind; })) {
    std::vector<Entry> old = std::move(entries_);
    entries_.clear();
    for (Entry& e : old) add(std::move(e));
  }
}

Quantities Resources::quantities(const Catalog& catalog) const {
  Quantities q;
  for (const Entry& e : entries_) {
    const KindInfo& k = catalog.kind(e.kind);
    if (k.type == v1::Value::SCALAR) q.add(k.nameId, e.scalar);
  }
  return q;
}

Quantities Resources::unreservedQuantities(const Catalog& catalog) const {
  Quantities q;
  for (const Entry& e : entries_) {
    const KindInfo& k = catalog.kind(e.kind);
    if (k.type == v1::Value::SCALAR && !k.reserved && !k.revocable) q.add(k.nameId, e.scalar);
  }
  return q;
}

void Resources::quantities(const Catalog& catalog, Quantities* all, Quantities* unreserved) const {
  for (const Entry& e : entries_) {
    const KindInfo& k = catalog.kind(e.kind);
    if (k.type != v1::Value::SCALAR) continue;
    all->add(k.nameId, e.scalar);
    if (!k.reserved && !k.revocable) unreserved->add(k.nameId, e.scalar);
  }
}

void entryToProto(const KindInfo& k, const Entry& e, const std::string& role, v1::Resource* r) {
  r->CopyFrom(k.prototype);
  switch (k.type) {
    case v1::Value::SCALAR: r->mutable_scalar()->set_value(e.scalar); break;
    case v1::Value::RANGES: {
      v1::Value::Ranges* ranges = r->mutable_ranges();
      for (const Range& range : e.ranges) {
        v1::Value::Range* x = ranges->add_range();
        x->set_begin(range.first);
        x->set_end(range.second);
      }
      break;
    }
    case v1::Value::SET:
      for (const std::string& item : e.items) r->mutable_set()->add_item(item);
      break;
    default: break;
  }
  if (!role.empty()) r->mutable_allocation_info()->set_role(role);
}

void Resources::toProto(const Catalog& catalog, const std::string& role,
                        google::protobuf::RepeatedPtrField<v1::Resource>* out) const {
  for (const Entry& e : entries_) entryToProto(catalog.kind(e.kind), e, role, out->Add());
}

std::string Resources::debugString(const Catalog& catalog) const {
  std::ostringstream out;
  bool first = true;
  for (const Entry& e : entries_) {
    const KindInfo& k = catalog.kind(e.kind);
    if (!first) out << ';';
    first = false;
    out << k.name;
    if (k.reserved) out << '(' << k.role << ')';
    out << ':';
    if (k.type == v1::Value::SCALAR) {
      out << e.scalar;
    } else if (k.type == v1::Value::RANGES) {
      out << '[';
      for (std::size_t i = 0; i < e.ranges.size(); ++i) {
        out << (i ? "," : "") << e.ranges[i].first << '-' << e.ranges[i].second;
      }
      out << ']';
    } else {
      out << '{';
      for (std::size_t i = 0; i < e.items.size(); ++i) out << (i ? "," : "") << e.items[i];
      out << '}';
    }
  }
  return out.str();
}

}  // namespace mantle::allocator_engine
