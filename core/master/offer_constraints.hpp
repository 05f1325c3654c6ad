// A framework's offer constraints (mesos.v1.scheduler.OfferConstraints, set
// by SUBSCRIBE and UPDATE_FRAMEWORK): per role, groups of attribute
// constraints; an agent qualifies for the role when every constraint of at
// least one group holds. Roles without constraints take every agent.
// Predicates on an agent attribute or a pseudoattribute (hostname, fault
// domain region and zone), as Mesos evaluates them:
//
//   predicate         absent   pseudoattribute / TEXT attribute   other attribute
//   exists            false    true                               true
//   not_exists        true     false                              false
//   text_equals       false    value == v                         true
//   text_not_equals   true     value != v                         true
//   text_matches      false    regex matches the whole value      true
//   text_not_matches  true     regex does not match it            true
//
// Mesos takes RE2 patterns; Mantle compiles them as ECMAScript (std::regex)
// and refuses what the two read differently or what RE2 does not have:
// inline flags and named groups `(?...)` other than `(?:`, lookaround,
// backreferences, `\p`/`\P` classes, `\Q...\E`, `\A`, `\z`, `\C`.
#pragma once

#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "mantle/result.hpp"
#include "mesos/v1/mesos.pb.h"
#include "mesos/v1/scheduler/scheduler.pb.h"

namespace mantle::master {

class OfferConstraintsFilter {
 public:
  // Checks and compiles `constraints` for a framework subscribed to `roles`.
  // Errors (InvalidArgument) name the role and the constraint: a role the
  // framework is not subscribed to, a role or group without constraints, a
  // selector or predicate not set, an unknown pseudoattribute, a regex that
  // does not compile or uses syntax refused above.
  static Result<OfferConstraintsFilter> create(const mesos::v1::scheduler::OfferConstraints& constraints,
                                               const std::vector<std::string>& roles);

  OfferConstraintsFilter() = default;  // no constraints: excludes nothing

  // True when the agent does not qualify for offers to `role`.
  bool excludes(const std::string& role, const mesos::v1::AgentInfo& agent) const;

  bool empty() const { return roles_.empty(); }

 private:
  struct Constraint {
    enum class Subject { kAttribute, kHostname, kRegion, kZone } subject = Subject::kAttribute;
    std::string attribute;  // kAttribute
    enum class Kind { kExists, kNotExists, kEquals, kNotEquals, kMatches, kNotMatches } kind = Kind::kExists;
    std::string text;                         // kEquals, kNotEquals
    std::shared_ptr<const std::regex> regex;  // kMatches, kNotMatches
    bool holds(const mesos::v1::AgentInfo& agent) const;
  };
  using Group = std::vector<Constraint>;
  std::map<std::string, std::vector<Group>> roles_;
};

// Checks a pattern against the syntax OfferConstraintsFilter refuses and
// compiles it (exposed for tests).
Result<std::shared_ptr<const std::regex>> compileConstraintRegex(const std::string& pattern);

}  // namespace mantle::master
