#include "master/offer_constraints.hpp"

#include <algorithm>
#include <set>

namespace mantle::master {

namespace v1 = ::mesos::v1;
using v1::scheduler::AttributeConstraint;

namespace {

// Longest pattern accepted (Mesos bounds RE2's program size instead).
constexpr std::size_t kMaxPatternLength = 4096;

Status checkRe2Compatible(const std::string& pattern) {
  bool inClass = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      if (i + 1 >= pattern.size()) return invalidArgument("Regex '" + pattern + "' ends with a lone backslash");
      char next = pattern[i + 1];
      if (!inClass && next >= '1' && next <= '9') {
        return invalidArgument("Regex '" + pattern + "' uses a backreference, which RE2 does not support");
      }
      if (std::string_view("pPQEAzC").find(next) != std::string_view::npos) {
        return invalidArgument("Regex '" + pattern + "' uses '\\" + std::string(1, next) +
                               "', which Mantle's regex engine (ECMAScript) reads differently from RE2");
      }
      ++i;
      continue;
    }
    if (inClass) {
      if (c == ']') inClass = false;
      continue;
    }
    if (c == '[') {
      inClass = true;
      // A ']' right after '[' or '[^' is a literal.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') ++i;
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') ++i;
      continue;
    }
    if (c == '(' && i + 1 < pattern.size() && pattern[i + 1] == '?') {
      if (i + 2 < pattern.size() && pattern[i + 2] == ':') continue;
      return invalidArgument("Regex '" + pattern +
                             "' uses a '(?' group other than '(?:' (flags, named groups or lookaround), "
                             "which Mantle does not support");
    }
  }
  return Status();
}

}  // namespace

Result<std::shared_ptr<const std::regex>> compileConstraintRegex(const std::string& pattern) {
  if (pattern.size() > kMaxPatternLength) {
    return invalidArgument("Regex of " + std::to_string(pattern.size()) + " characters is longer than the " +
                           std::to_string(kMaxPatternLength) + " allowed");
  }
  if (Status s = checkRe2Compatible(pattern); !s.ok()) return s.error();
  try {
    return std::shared_ptr<const std::regex>(std::make_shared<std::regex>(pattern, std::regex::ECMAScript));
  } catch (const std::regex_error& e) {
    return invalidArgument("Failed to construct regex from pattern '" + pattern + "': " + e.what());
  }
}

Result<OfferConstraintsFilter> OfferConstraintsFilter::create(const v1::scheduler::OfferConstraints& constraints,
                                                              const std::vector<std::string>& roles) {
  OfferConstraintsFilter filter;
  std::set<std::string> subscribed(roles.begin(), roles.end());
  for (const auto& [role, roleConstraints] : constraints.role_constraints()) {
    auto bad = [&](const std::string& what) {
      return invalidArgument("Invalid offer constraints for role '" + role + "': " + what);
    };
    if (!subscribed.count(role)) {
      return invalidArgument("Offer constraints are given for role '" + role +
                             "', which the framework is not subscribed to");
    }
    if (roleConstraints.groups().empty()) return bad("'groups' is empty");
    std::vector<Group>& groups = filter.roles_[role];
    for (int g = 0; g < roleConstraints.groups_size(); ++g) {
      const auto& group = roleConstraints.groups(g);
      std::string where = "group " + std::to_string(g);
      if (group.attribute_constraints().empty()) return bad(where + " has no 'attribute_constraints'");
      Group compiled;
      for (int c = 0; c < group.attribute_constraints_size(); ++c) {
        const AttributeConstraint& constraint = group.attribute_constraints(c);
        std::string at = where + ", constraint " + std::to_string(c) + ": ";
        Constraint out;
        const AttributeConstraint::Selector& selector = constraint.selector();
        switch (selector.selector_case()) {
          case AttributeConstraint::Selector::kAttributeName:
            out.subject = Constraint::Subject::kAttribute;
            out.attribute = selector.attribute_name();
            break;
          case AttributeConstraint::Selector::kPseudoattributeType:
            switch (selector.pseudoattribute_type()) {
              case AttributeConstraint::Selector::HOSTNAME: out.subject = Constraint::Subject::kHostname; break;
              case AttributeConstraint::Selector::REGION: out.subject = Constraint::Subject::kRegion; break;
              case AttributeConstraint::Selector::ZONE: out.subject = Constraint::Subject::kZone; break;
              default: return bad(at + "unknown pseudoattribute type");
            }
            break;
          default:
            return bad(at + "exactly one of 'selector.attribute_name' and 'selector.pseudoattribute_type' must be set");
        }
        const AttributeConstraint::Predicate& predicate = constraint.predicate();
        switch (predicate.predicate_case()) {
          case AttributeConstraint::Predicate::kExists: out.kind = Constraint::Kind::kExists; break;
          case AttributeConstraint::Predicate::kNotExists: out.kind = Constraint::Kind::kNotExists; break;
          case AttributeConstraint::Predicate::kTextEquals:
            out.kind = Constraint::Kind::kEquals;
            out.text = predicate.text_equals().value();
            break;
          case AttributeConstraint::Predicate::kTextNotEquals:
            out.kind = Constraint::Kind::kNotEquals;
            out.text = predicate.text_not_equals().value();
            break;
          case AttributeConstraint::Predicate::kTextMatches:
          case AttributeConstraint::Predicate::kTextNotMatches: {
            bool matches = predicate.has_text_matches();
            out.kind = matches ? Constraint::Kind::kMatches : Constraint::Kind::kNotMatches;
            auto regex = compileConstraintRegex(matches ? predicate.text_matches().regex()
                                                        : predicate.text_not_matches().regex());
            if (!regex.ok()) return bad(at + regex.error().message);
            out.regex = *regex;
            break;
          }
          default: return bad(at + "'predicate' is not set");
        }
        compiled.push_back(std::move(out));
      }
      groups.push_back(std::move(compiled));
    }
  }
  return filter;
}

bool OfferConstraintsFilter::Constraint::holds(const v1::AgentInfo& agent) const {
  // The value the predicate looks at: none, a text, or a non-TEXT attribute.
  const std::string* value = nullptr;
  bool present = false;
  switch (subject) {
    case Subject::kHostname:
      present = true;
      value = &agent.hostname();
      break;
    case Subject::kRegion:
    case Subject::kZone:
      if (agent.has_domain() && agent.domain().has_fault_domain()) {
        present = true;
        value = subject == Subject::kRegion ? &agent.domain().fault_domain().region().name()
                                            : &agent.domain().fault_domain().zone().name();
      }
      break;
    case Subject::kAttribute: {
      auto it = std::find_if(agent.attributes().begin(), agent.attributes().end(),
                             [&](const v1::Attribute& a) { return a.name() == attribute; });
      if (it != agent.attributes().end()) {
        present = true;
        if (it->type() == v1::Value::TEXT) value = &it->text().value();
      }
      break;
    }
  }
  switch (kind) {
    case Kind::kExists: return present;
    case Kind::kNotExists: return !present;
    case Kind::kEquals: return present && (value == nullptr || *value == text);
    case Kind::kNotEquals: return !present || value == nullptr || *value != text;
    case Kind::kMatches: return present && (value == nullptr || std::regex_match(*value, *regex));
    case Kind::kNotMatches: return !present || value == nullptr || !std::regex_match(*value, *regex);
  }
  return false;
}

bool OfferConstraintsFilter::excludes(const std::string& role, const v1::AgentInfo& agent) const {
  auto it = roles_.find(role);
  if (it == roles_.end()) return false;
  return std::none_of(it->second.begin(), it->second.end(), [&](const Group& group) {
    return std::all_of(group.begin(), group.end(), [&](const Constraint& c) { return c.holds(agent); });
  });
}

}  // namespace mantle::master
