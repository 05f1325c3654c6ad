// One fixture library per loader failure mode. Every error must name the
// library and the module, and say what is wrong.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "mantle/module/v1/isolator.pb.h"
#include "mantle/modules/clients.hpp"
#include "mantle/modules/library.hpp"
#include "mantle/modules/registry.hpp"

namespace mantle::modules {
namespace {

using ::testing::AllOf;
using testing::fixturePath;
using ::testing::HasSubstr;
using testing::manifestFor;

// Loads the fixture's module and creates an instance of it, as a host does.
Status loadFixture(const std::string& name, const std::string& module = "fixture") {
  Manifest manifest;
  Status parsed = loadManifest(manifestFor(fixturePath(name), module), manifest);
  if (!parsed.ok()) return parsed;
  Registry registry;
  if (Status loaded = registry.load(manifest); !loaded.ok()) return loaded;
  for (const Registry::Entry* entry : registry.entries()) {
    Result<std::shared_ptr<Instance>> instance = registry.create(entry->info.kind, entry->spec.instance);
    if (!instance.ok()) return instance.error();
  }
  return {};
}

struct FailureCase {
  std::string fixture;
  std::string expected;  // what the message must say besides library and module
};

void PrintTo(const FailureCase& c, std::ostream* os) {
  *os << c.fixture;
}

class LoaderFailureTest : public ::testing::TestWithParam<FailureCase> {};

TEST_P(LoaderFailureTest, RefusedWithAMessageNamingLibraryAndModule) {
  const FailureCase& c = GetParam();
  Status status = loadFixture(c.fixture);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, AllOf(HasSubstr("libfixture_" + c.fixture + ".so"), HasSubstr("module 'fixture'"),
                                            HasSubstr(c.expected)));
}

INSTANTIATE_TEST_SUITE_P(
    EveryFailureMode, LoaderFailureTest,
    ::testing::Values(
        FailureCase{"no_entry", "has no entry symbol 'mantle_module_library'"},
        FailureCase{"bad_magic", "bad magic 0xDEADBEEF (expected 0x4C544E4D)"},
        FailureCase{"abi_too_new", "built for module ABI version 2, but this host supports ABI version 1"},
        FailureCase{"kind_major_mismatch",
                    "built for isolator API 2.0, but this host supports isolator API 1.1 (major versions differ)"},
        FailureCase{"kind_minor_newer", "needs isolator API 1.99, newer than this host's isolator API 1.1"},
        FailureCase{"duplicate_name", "declares module 'fixture' more than once"},
        FailureCase{
            "unknown_kind",
            "unknown kind 'frobnicator' (this host knows: allocator, authenticator, authorizer, hook, isolator, "
            "secret_resolver)"},
        FailureCase{"null_table", "null isolator function table"},
        FailureCase{"short_table", "isolator function table is 16 bytes, too short for isolator API 1.0 (needs 64)"},
        FailureCase{"create_error",
                    "create failed (FAILED_PRECONDITION): refusing to start: mode 'strict' needs a license"},
        FailureCase{"create_throws", "create failed (INTERNAL): create threw: constructor exploded for fixture"},
        FailureCase{"reads_undeclared",
                    "create failed (INTERNAL): create threw: reads parameter 'mood', which it does not declare"},
        FailureCase{
            "reads_wrong_type",
            "create failed (INTERNAL): create threw: reads parameter 'mode' as int, but declares it as string"},
        FailureCase{"resolver_kind_major_mismatch",
                    "built for secret_resolver API 2.0, but this host supports secret_resolver API 1.0 (major "
                    "versions differ)"},
        FailureCase{"resolver_kind_minor_newer",
                    "needs secret_resolver API 1.99, newer than this host's secret_resolver API 1.0"},
        FailureCase{"resolver_null_table", "null secret_resolver function table"},
        FailureCase{"resolver_short_table",
                    "secret_resolver function table is 4 bytes, too short for secret_resolver API 1.0 (needs 16)"}),
    [](const ::testing::TestParamInfo<FailureCase>& info) { return info.param.fixture; });

TEST(LibraryTest, ValidRawLibraryLoads) {
  Result<std::shared_ptr<const Library>> library = Library::open(fixturePath("valid"));
  ASSERT_TRUE(library.ok()) << library.error().message;
  EXPECT_EQ((*library)->name(), "fixture_library");
  EXPECT_EQ((*library)->version(), "0.0.1");
  EXPECT_EQ((*library)->abiVersion(), 1u);
  EXPECT_EQ((*library)->moduleNames(), std::vector<std::string>{"fixture"});
  Result<ModuleInfo> info = (*library)->module("fixture");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->kind, "isolator");
  EXPECT_EQ(info->apiMajor, 1);
  EXPECT_EQ(info->apiMinor, 0);
  Status created = loadFixture("valid");
  EXPECT_TRUE(created.ok()) << created.error().message;
}

// The fixture library newer_sdk is built against the SDK of a future isolator
// API 1.2; each module declares the newest minor among the methods it
// overrides, so this 1.1 host loads those that need nothing newer.
TEST(ModuleVersionTest, ModuleFromANewerSdkDeclaresTheMinorOfTheMethodsItOverrides) {
  Result<std::shared_ptr<const Library>> library = Library::open(fixturePath("newer_sdk"));
  ASSERT_TRUE(library.ok()) << library.error().message;
  Result<ModuleInfo> old = (*library)->module("old_methods");
  ASSERT_TRUE(old.ok()) << old.error().message;
  EXPECT_EQ(old->apiMinor, 0);
  Result<ModuleInfo> resources = (*library)->module("advertises_resources");
  ASSERT_TRUE(resources.ok()) << resources.error().message;
  EXPECT_EQ(resources->apiMinor, 1);
}

TEST(ModuleVersionTest, ModuleFromANewerSdkUsingOnlyOlderMethodsRunsInThisHost) {
  Manifest manifest;
  ASSERT_TRUE(loadManifest(R"({"libraries":[{"file":")" + fixturePath("newer_sdk") +
                               R"(","modules":[{"name":"old_methods"},{"name":"advertises_resources"}]}]})",
                           manifest)
                  .ok());
  Registry registry;
  Status loaded = registry.load(manifest);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;

  Result<std::shared_ptr<Instance>> old = registry.create("isolator", "old_methods");
  ASSERT_TRUE(old.ok()) << old.error().message;
  Result<module::v1::IsolatorPrepareResponse> prepared =
      IsolatorClient(**old).prepare(module::v1::IsolatorPrepareRequest());
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  ASSERT_EQ(prepared->launch_info().environment().variables_size(), 1);
  EXPECT_EQ(prepared->launch_info().environment().variables(0).value(), "old_methods");
  // It declared 1.0: the host treats the 1.1 method as not implemented.
  Result<module::v1::IsolatorResourcesResponse> none =
      IsolatorClient(**old).resources(module::v1::IsolatorResourcesRequest());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, StatusCode::kUnimplemented);
  EXPECT_THAT(none.error().message, HasSubstr("declares isolator API 1.0, older than 'resources' (added in 1.1)"));

  Result<std::shared_ptr<Instance>> advertising = registry.create("isolator", "advertises_resources");
  ASSERT_TRUE(advertising.ok()) << advertising.error().message;
  Result<module::v1::IsolatorResourcesResponse> widgets =
      IsolatorClient(**advertising).resources(module::v1::IsolatorResourcesRequest());
  ASSERT_TRUE(widgets.ok()) << widgets.error().message;
  ASSERT_EQ(widgets->resources_size(), 1);
  EXPECT_EQ(widgets->resources(0).name(), "widgets");
}

TEST(ModuleVersionTest, ModuleUsingANewerMethodIsRefusedNamingModuleKindAndVersions) {
  Status status = loadFixture("newer_sdk", "forecaster");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.error().message,
              AllOf(HasSubstr("module 'forecaster'"), HasSubstr("libfixture_newer_sdk.so"),
                    HasSubstr("needs isolator API 1.2, newer than this host's isolator API 1.1")));
}

TEST(LibraryTest, SameLibraryOpenedOnce) {
  Result<std::shared_ptr<const Library>> a = Library::open(fixturePath("valid"));
  Result<std::shared_ptr<const Library>> b = Library::open(fixturePath("valid"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->get(), b->get());
}

TEST(LibraryTest, MissingFileNamesThePath) {
  Status status = loadFixture("does_not_exist");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, AllOf(HasSubstr("cannot open module library"),
                                            HasSubstr("libfixture_does_not_exist.so"), HasSubstr("module 'fixture'")));
}

TEST(LibraryTest, NotASharedObject) {
  // A text file is no ELF object: dlopen's reason must come through.
  Manifest manifest;
  ASSERT_TRUE(loadManifest(manifestFor(std::string(MANTLE_SOURCE_DIR) + "/CMakeLists.txt", "x"), manifest).ok());
  Registry registry;
  Status loaded = registry.load(manifest);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.error().message,
              AllOf(HasSubstr("cannot open module library"), HasSubstr("CMakeLists.txt"), HasSubstr("module 'x'")));
}

TEST(LibraryTest, UnknownModuleListsWhatTheLibraryHas) {
  Status status = loadFixture("test_modules", "ecko");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, AllOf(HasSubstr("has no module 'ecko' (it has: echo, tag, needs_token)"),
                                            HasSubstr("libfixture_test_modules.so")));
}

TEST(LibraryTest, ManifestKindMustMatchTheLibrary) {
  Manifest manifest;
  ASSERT_TRUE(loadManifest(manifestFor(fixturePath("test_modules"), "echo", R"("kind":"hook")"), manifest).ok());
  Registry registry;
  Status status = registry.load(manifest);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message,
              AllOf(HasSubstr("module 'echo'"), HasSubstr("the manifest says kind 'hook'"),
                    HasSubstr("declares it as 'isolator'"), HasSubstr("libfixture_test_modules.so")));
}

}  // namespace
}  // namespace mantle::modules
