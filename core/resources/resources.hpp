// Resources as Mesos defines them (mesos.v1.Resource): scalars, ranges and
// sets, reservations (the refinement stack), allocation roles, and the
// arithmetic the master and agent need: add, subtract, contains. Scalars are
// kept at three decimal digits as Mesos does, so sums never drift.
#pragma once

#include <string>
#include <vector>

#include <google/protobuf/repeated_field.h>

#include "mantle/result.hpp"
#include "mesos/v1/mesos.pb.h"

namespace mantle::resources {

using Resource = ::mesos::v1::Resource;

// The largest scalar a resource may have. Values are kept to three decimals
// (round(v * 1000) / 1000), exact below 2^53 / 1000; Mesos' fixed-point math
// ends near 9.2e15.
inline constexpr double kMaxScalar = 1e15;

// A Resource is well-formed: a name, a value matching its type, scalars from
// 0 to kMaxScalar, ordered non-overlapping ranges, a reservation stack with
// roles.
Status validate(const Resource& resource);

// The role that owns `resource`'s reservation ("*" when unreserved).
std::string reservationRole(const Resource& resource);

class Resources {
 public:
  Resources() = default;
  // Validates each resource; zero-valued ones are dropped. Both of Mesos'
  // reservation formats are read (format.hpp); the result is post-refinement.
  static Result<Resources> from(const google::protobuf::RepeatedPtrField<Resource>& list);
  // Mesos' text syntax: "cpus:4;mem:1024;ports:[31000-32000];disks:{a,b};cpus(role):2".
  // A role other than "*" makes a static reservation for it.
  static Result<Resources> parse(const std::string& text);

  // Adds `resource`, merging it with a resource of the same identity.
  void add(const Resource& resource);
  Resources& operator+=(const Resources& other);
  Resources operator+(const Resources& other) const;
  // Removes `other`; an error when something in `other` is not here.
  Result<Resources> minus(const Resources& other) const;
  bool contains(const Resources& other) const;
  bool empty() const { return items_.empty(); }

  // Total scalar value of `name` over every reservation and role.
  double scalar(const std::string& name) const;
  // The ranges of `name`, merged.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges(const std::string& name) const;

  // Only the unreserved ones; only those reserved to `role` (exactly).
  Resources unreserved() const;
  Resources reservedTo(const std::string& role) const;
  // With allocation_info.role set to `role` / cleared.
  Resources allocatedTo(const std::string& role) const;
  Resources withoutAllocation() const;

  const std::vector<Resource>& items() const { return items_; }
  void copyTo(google::protobuf::RepeatedPtrField<Resource>* out) const;
  // "cpus:4; mem:1024; ports:[31000-32000]; cpus(role):2" (Mesos' rendering).
  std::string toString() const;

  bool operator==(const Resources& other) const { return contains(other) && other.contains(*this); }

 private:
  std::vector<Resource> items_;
};

}  // namespace mantle::resources
