// Mesos-style ACLs (the --acls format) and the decision rule of Mesos' local
// authorizer.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mantle/result.hpp"

namespace mantle::authenticators::local_authorizer {

// An ACL entity: some named values, anyone, or no one.
struct Entity {
  enum class Type { kSome, kAny, kNone };
  Type type = Type::kSome;
  std::vector<std::string> values;  // only for kSome
};

struct Acl {
  Entity principals;  // the subjects
  Entity objects;     // the action's object field (roles, users, ...)
};

struct ActionSpec {
  enum class Object {
    kValue,     // the object is compared by equality
    kRole,      // a role: also matches the hierarchical wildcard "parent/%"
    kImplicit,  // nothing to name: the request's object is always "any", the ACL's must be ANY or NONE
  };
  std::string_view name;         // "register_frameworks"
  std::string_view objectField;  // "roles"
  Object object;
};

// The actions the ACL format knows; nullptr for an unknown name.
const ActionSpec* findAction(std::string_view name);
const std::vector<ActionSpec>& allActions();

struct Acls {
  bool permissive = true;
  std::map<std::string, std::vector<Acl>, std::less<>> byAction;  // in file order per action
};

// Parses ACLs JSON. Errors name `source` and the JSON path.
Result<Acls> parseAcls(const std::string& text, const std::string& source);

// The `acls` parameter: inline JSON (first non-blank character '{'), or a
// path to a file (optionally file:///path), as Mesos' --acls.
Result<Acls> loadAcls(const std::string& parameter);

// Mesos' rule: the ACLs of the action are tried in order; the first whose
// principals and objects both match the request decides, and allows unless
// either of its entities is NONE; when none matches, `permissive` decides.
// An absent subject or object is "any": it matches only ANY and NONE
// entities, and only ANY allows it.
bool authorize(const Acls& acls, const ActionSpec& action, const std::optional<std::string>& subject,
               const std::optional<std::string>& object);

}  // namespace mantle::authenticators::local_authorizer
