#include "resources.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>

#include "format.hpp"

namespace mantle::resources {

namespace {

using Value = ::mesos::v1::Value;
using Range = std::pair<std::uint64_t, std::uint64_t>;

double round3(double v) {
  return std::round(v * 1000.0) / 1000.0;
}

// Everything that makes two resources mergeable: the resource with its value
// removed, serialized.
std::string identity(const Resource& r) {
  Resource copy = r;
  copy.clear_scalar();
  copy.clear_ranges();
  copy.clear_set();
  return copy.SerializeAsString();
}

std::vector<Range> toRanges(const Value::Ranges& ranges) {
  std::vector<Range> out;
  for (const auto& r : ranges.range()) out.emplace_back(r.begin(), r.end());
  return out;
}

// Sorted, merged (adjacent ranges coalesce).
std::vector<Range> normalize(std::vector<Range> ranges) {
  std::sort(ranges.begin(), ranges.end());
  std::vector<Range> out;
  for (const Range& r : ranges) {
    // (second + 1 wraps at UINT64_MAX: nothing can follow such a range.)
    if (!out.empty() && (out.back().second == UINT64_MAX || r.first <= out.back().second + 1)) {
      out.back().second = std::max(out.back().second, r.second);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

void setRanges(Resource& r, const std::vector<Range>& ranges) {
  r.mutable_ranges()->clear_range();
  for (const Range& range : ranges) {
    auto* out = r.mutable_ranges()->add_range();
    out->set_begin(range.first);
    out->set_end(range.second);
  }
}

// a minus b, or false when b is not inside a.
bool subtractRanges(const std::vector<Range>& a, const std::vector<Range>& b, std::vector<Range>& out) {
  out = a;
  for (const Range& cut : b) {
    bool covered = false;
    std::vector<Range> next;
    for (const Range& r : out) {
      if (cut.first >= r.first && cut.second <= r.second) {
        covered = true;
        if (cut.first > r.first) next.emplace_back(r.first, cut.first - 1);
        if (cut.second < r.second) next.emplace_back(cut.second + 1, r.second);
      } else {
        next.push_back(r);
      }
    }
    if (!covered) return false;
    out = std::move(next);
  }
  return true;
}

bool isEmpty(const Resource& r) {
  switch (r.type()) {
    case Value::SCALAR: return round3(r.scalar().value()) <= 0;
    case Value::RANGES: return r.ranges().range_size() == 0;
    case Value::SET: return r.set().item_size() == 0;
    default: return false;
  }
}

// The shortest text that reads back to the value (ostream's six digits
// printed 4294967295 as 4.29497e+09).
std::string formatScalar(double v) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), round3(v));
  return ec == std::errc() ? std::string(buffer, end) : std::string("?");
}

std::string renderValue(const Resource& r) {
  switch (r.type()) {
    case Value::SCALAR: return formatScalar(r.scalar().value());
    case Value::RANGES: {
      std::string s = "[";
      for (int i = 0; i < r.ranges().range_size(); ++i) {
        if (i > 0) s += ",";
        s += std::to_string(r.ranges().range(i).begin()) + "-" + std::to_string(r.ranges().range(i).end());
      }
      return s + "]";
    }
    case Value::SET: {
      std::string s = "{";
      for (int i = 0; i < r.set().item_size(); ++i) s += (i > 0 ? "," : "") + r.set().item(i);
      return s + "}";
    }
    default: return "?";
  }
}

Result<Resource> parseOne(const std::string& text) {
  std::size_t colon = text.find(':');
  if (colon == std::string::npos) return invalidArgument("'" + text + "': expected name:value");
  std::string head = text.substr(0, colon);
  std::string value = text.substr(colon + 1);
  auto trim = [](std::string s) {
    s.erase(0, s.find_first_not_of(" \t"));
    s.erase(s.find_last_not_of(" \t") + 1);
    return s;
  };
  head = trim(head);
  value = trim(value);
  std::string name = head;
  std::string role = "*";
  if (std::size_t paren = head.find('('); paren != std::string::npos) {
    if (head.back() != ')') return invalidArgument("'" + text + "': unbalanced '(' in the role");
    name = trim(head.substr(0, paren));
    role = trim(head.substr(paren + 1, head.size() - paren - 2));
    if (role.empty()) return invalidArgument("'" + text + "': empty role");
  }
  if (name.empty()) return invalidArgument("'" + text + "': empty resource name");
  Resource r;
  r.set_name(name);
  if (value.empty()) return invalidArgument("'" + text + "': empty value");
  if (value.front() == '[') {
    if (value.back() != ']') return invalidArgument("'" + text + "': ranges must end with ']'");
    r.set_type(Value::RANGES);
    r.mutable_ranges();
    std::stringstream in(value.substr(1, value.size() - 2));
    std::string part;
    while (std::getline(in, part, ',')) {
      part = trim(part);
      if (part.empty()) continue;
      std::size_t dash = part.find('-');
      if (dash == std::string::npos) return invalidArgument("'" + text + "': range '" + part + "' is not begin-end");
      // Whole-string decimal digits only: no sign, no spaces inside, no overflow.
      auto bound = [&trim](std::string digits) -> std::optional<std::uint64_t> {
        digits = trim(std::move(digits));
        std::uint64_t n = 0;
        const char* last = digits.data() + digits.size();
        auto [ptr, ec] = std::from_chars(digits.data(), last, n);
        if (digits.empty() || ec != std::errc() || ptr != last) return std::nullopt;
        return n;
      };
      std::optional<std::uint64_t> b = bound(part.substr(0, dash));
      if (!b) return invalidArgument("'" + text + "': bad range begin in '" + part + "'");
      std::optional<std::uint64_t> e = bound(part.substr(dash + 1));
      if (!e) return invalidArgument("'" + text + "': bad range end in '" + part + "'");
      auto* range = r.mutable_ranges()->add_range();
      range->set_begin(*b);
      range->set_end(*e);
    }
  } else if (value.front() == '{') {
    if (value.back() != '}') return invalidArgument("'" + text + "': sets must end with '}'");
    r.set_type(Value::SET);
    r.mutable_set();
    std::stringstream in(value.substr(1, value.size() - 2));
    std::string item;
    while (std::getline(in, item, ',')) {
      item = trim(item);
      if (!item.empty()) r.mutable_set()->add_item(item);
    }
  } else {
    char* end = nullptr;
    errno = 0;
    double d = std::strtod(value.c_str(), &end);
    if (*end != '\0' || errno == ERANGE || !std::isfinite(d)) {
      return invalidArgument("'" + text + "': '" + value + "' is not a number, [ranges] or {set}");
    }
    r.set_type(Value::SCALAR);
    r.mutable_scalar()->set_value(d);
  }
  if (role != "*") {
    auto* reservation = r.add_reservations();
    reservation->set_type(Resource::ReservationInfo::STATIC);
    reservation->set_role(role);
  }
  if (Status s = validate(r); !s.ok()) return invalidArgument("'" + text + "': " + s.error().message);
  return r;
}

}  // namespace

Status validate(const Resource& r) {
  if (r.name().empty()) return invalidArgument("resource without a name");
  const std::string what = "resource '" + r.name() + "'";
  switch (r.type()) {
    case Value::SCALAR:
      if (!r.has_scalar() || r.has_ranges() || r.has_set())
        return invalidArgument(what + ": a SCALAR needs only 'scalar'");
      if (!std::isfinite(r.scalar().value()) || r.scalar().value() < 0) {
        return invalidArgument(what + ": scalar must be a non-negative number");
      }
      if (r.scalar().value() > kMaxScalar) {
        std::ostringstream shown;
        shown << r.scalar().value();
        return invalidArgument(what + ": scalar " + shown.str() + " is above the largest, 1e15");
      }
      break;
    case Value::RANGES:
      if (!r.has_ranges() || r.has_scalar() || r.has_set())
        return invalidArgument(what + ": RANGES needs only 'ranges'");
      for (const auto& range : r.ranges().range()) {
        if (range.begin() > range.end()) {
          return invalidArgument(what + ": range " + std::to_string(range.begin()) + "-" + std::to_string(range.end()) +
                                 " ends before it begins");
        }
      }
      break;
    case Value::SET: {
      if (!r.has_set() || r.has_scalar() || r.has_ranges()) return invalidArgument(what + ": a SET needs only 'set'");
      std::vector<std::string> items(r.set().item().begin(), r.set().item().end());
      std::sort(items.begin(), items.end());
      if (std::adjacent_find(items.begin(), items.end()) != items.end()) {
        return invalidArgument(what + ": set has duplicate items");
      }
      break;
    }
    default: return invalidArgument(what + ": unsupported type " + Value::Type_Name(r.type()));
  }
  for (int i = 0; i < r.reservations_size(); ++i) {
    if (r.reservations(i).role().empty())
      return invalidArgument(what + ": reservation " + std::to_string(i) + " has no role");
    if (r.reservations(i).role() == "*") return invalidArgument(what + ": cannot reserve for role '*'");
  }
  return {};
}

std::string reservationRole(const Resource& r) {
  return r.reservations_size() == 0 ? "*" : r.reservations(r.reservations_size() - 1).role();
}

Result<Resources> Resources::from(const google::protobuf::RepeatedPtrField<Resource>& list) {
  Resources out;
  for (const Resource& given : list) {
    Result<Resource> r = toPostRefinement(given);  // Mesos' pre-refinement format too
    if (!r.ok()) return r.error();
    if (Status s = validate(*r); !s.ok()) return s.error();
    out.add(*r);
  }
  return out;
}

Result<Resources> Resources::parse(const std::string& text) {
  Resources out;
  std::stringstream in(text);
  std::string token;
  while (std::getline(in, token, ';')) {
    if (token.find_first_not_of(" \t\n") == std::string::npos) continue;
    Result<Resource> r = parseOne(token);
    if (!r.ok()) return r.error();
    out.add(*r);
  }
  return out;
}

void Resources::add(const Resource& resource) {
  if (isEmpty(resource)) return;
  std::string key = identity(resource);
  for (Resource& existing : items_) {
    if (existing.name() != resource.name() || identity(existing) != key) continue;
    switch (resource.type()) {
      case Value::SCALAR:
        existing.mutable_scalar()->set_value(round3(existing.scalar().value() + resource.scalar().value()));
        return;
      case Value::RANGES: {
        std::vector<Range> merged = toRanges(existing.ranges());
        std::vector<Range> more = toRanges(resource.ranges());
        merged.insert(merged.end(), more.begin(), more.end());
        setRanges(existing, normalize(std::move(merged)));
        return;
      }
      case Value::SET: {
        std::vector<std::string> items(existing.set().item().begin(), existing.set().item().end());
        for (const std::string& item : resource.set().item()) {
          if (std::find(items.begin(), items.end(), item) == items.end()) items.push_back(item);
        }
        std::sort(items.begin(), items.end());
        existing.mutable_set()->clear_item();
        for (const std::string& item : items) existing.mutable_set()->add_item(item);
        return;
      }
      default: return;
    }
  }
  Resource copy = resource;
  if (copy.type() == Value::SCALAR) copy.mutable_scalar()->set_value(round3(copy.scalar().value()));
  if (copy.type() == Value::RANGES) setRanges(copy, normalize(toRanges(copy.ranges())));
  if (copy.type() == Value::SET) {
    std::vector<std::string> items(copy.set().item().begin(), copy.set().item().end());
    std::sort(items.begin(), items.end());
    copy.mutable_set()->clear_item();
    for (const std::string& item : items) copy.mutable_set()->add_item(item);
  }
  items_.push_back(std::move(copy));
}

Resources& Resources::operator+=(const Resources& other) {
  for (const Resource& r : other.items_) add(r);
  return *this;
}

Resources Resources::operator+(const Resources& other) const {
  Resources out = *this;
  out += other;
  return out;
}

Result<Resources> Resources::minus(const Resources& other) const {
  Resources out = *this;
  for (const Resource& cut : other.items_) {
    std::string key = identity(cut);
    bool found = false;
    for (auto it = out.items_.begin(); it != out.items_.end(); ++it) {
      if (it->name() != cut.name() || identity(*it) != key) continue;
      found = true;
      switch (cut.type()) {
        case Value::SCALAR: {
          double left = round3(it->scalar().value() - cut.scalar().value());
          if (left < 0) {
            return failedPrecondition("cannot take " + formatScalar(cut.scalar().value()) + " " + cut.name() +
                                      " from " + formatScalar(it->scalar().value()));
          }
          it->mutable_scalar()->set_value(left);
          break;
        }
        case Value::RANGES: {
          std::vector<Range> left;
          if (!subtractRanges(toRanges(it->ranges()), toRanges(cut.ranges()), left)) {
            return failedPrecondition("cannot take " + cut.name() + " " + renderValue(cut) + " from " +
                                      renderValue(*it));
          }
          setRanges(*it, left);
          break;
        }
        case Value::SET: {
          std::vector<std::string> items(it->set().item().begin(), it->set().item().end());
          for (const std::string& item : cut.set().item()) {
            auto pos = std::find(items.begin(), items.end(), item);
            if (pos == items.end()) {
              return failedPrecondition("cannot take " + cut.name() + " item '" + item + "' from " + renderValue(*it));
            }
            items.erase(pos);
          }
          it->mutable_set()->clear_item();
          for (const std::string& item : items) it->mutable_set()->add_item(item);
          break;
        }
        default: break;
      }
      if (isEmpty(*it)) out.items_.erase(it);
      break;
    }
    if (!found) return failedPrecondition("no " + cut.name() + " (" + renderValue(cut) + ") of that kind to take");
  }
  return out;
}

bool Resources::contains(const Resources& other) const {
  return minus(other).ok();
}

double Resources::scalar(const std::string& name) const {
  double total = 0;
  for (const Resource& r : items_) {
    if (r.name() == name && r.type() == Value::SCALAR) total += r.scalar().value();
  }
  return round3(total);
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> Resources::ranges(const std::string& name) const {
  std::vector<Range> all;
  for (const Resource& r : items_) {
    if (r.name() == name && r.type() == Value::RANGES) {
      auto more = toRanges(r.ranges());
      all.insert(all.end(), more.begin(), more.end());
    }
  }
  return normalize(std::move(all));
}

Resources Resources::unreserved() const {
  Resources out;
  for (const Resource& r : items_) {
    if (r.reservations_size() == 0) out.items_.push_back(r);
  }
  return out;
}

Resources Resources::reservedTo(const std::string& role) const {
  Resources out;
  for (const Resource& r : items_) {
    if (r.reservations_size() > 0 && reservationRole(r) == role) out.items_.push_back(r);
  }
  return out;
}

Resources Resources::allocatedTo(const std::string& role) const {
  Resources out;
  for (Resource r : items_) {
    r.mutable_allocation_info()->set_role(role);
    out.add(r);
  }
  return out;
}

Resources Resources::withoutAllocation() const {
  Resources out;
  for (Resource r : items_) {
    r.clear_allocation_info();
    out.add(r);
  }
  return out;
}

void Resources::copyTo(google::protobuf::RepeatedPtrField<Resource>* out) const {
  out->Clear();
  for (const Resource& r : items_) *out->Add() = r;
}

std::string Resources::toString() const {
  std::string s;
  for (const Resource& r : items_) {
    if (!s.empty()) s += "; ";
    s += r.name();
    std::string role = reservationRole(r);
    if (role != "*") s += "(" + role + ")";
    if (r.has_allocation_info()) s += "{" + r.allocation_info().role() + "}";
    s += ":" + renderValue(r);
  }
  return s;
}

}  // namespace mantle::resources
