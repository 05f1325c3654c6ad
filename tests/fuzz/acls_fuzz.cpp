// The local authorizer's ACLs (--acls JSON), and a decision for every action
// on what parses.
#include "acls.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  namespace acl = mantle::authenticators::local_authorizer;
  const std::string input(mantle::fuzz::text(data, size));
  mantle::Result<acl::Acls> acls = acl::parseAcls(input, "acls.json");
  if (!acls.ok()) {
    MANTLE_FUZZ_CHECK(acls.error().message.rfind("acls.json", 0) == 0, acls.error().message);
    return 0;
  }
  for (const acl::ActionSpec& action : acl::allActions()) {
    (void)acl::authorize(*acls, action, std::string("ops"), std::string("role/child"));
    (void)acl::authorize(*acls, action, std::nullopt, std::nullopt);
  }
  return 0;
}
