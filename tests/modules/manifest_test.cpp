// Manifest parsing: every malformed form is an error naming the file, the JSON
// path and the module; Mesos-shaped manifests load unchanged.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "mantle/modules/manifest.hpp"
#include "mantle/modules/registry.hpp"
#include "temp_dir.hpp"

namespace mantle::modules {
namespace {

using ::testing::AllOf;
using testing::fixturePath;
using ::testing::HasSubstr;
using testing::manifestFor;

std::string parseError(const std::string& text) {
  Result<Manifest> m = parseManifest(text, "m.json", "");
  return m.ok() ? "<parsed>" : m.error().message;
}

TEST(ManifestTest, MalformedJson) {
  EXPECT_THAT(parseError(R"({"libraries": [)"), HasSubstr("m.json: not valid JSON"));
  EXPECT_THAT(parseError(R"({"libraries": []} trailing)"), HasSubstr("m.json: not valid JSON"));
  EXPECT_THAT(parseError(R"({"libraries": [], "libraries": []})"), HasSubstr("m.json: not valid JSON"));
  EXPECT_THAT(parseError(R"([1, 2])"), HasSubstr("m.json: the manifest must be a JSON object, got an array"));
}

TEST(ManifestTest, UnknownKeysAreErrorsWithTheirPath) {
  EXPECT_THAT(parseError(R"({"libraries": [], "modulez": 1})"),
              HasSubstr("m.json: modulez: unknown key (expected one of: libraries)"));
  EXPECT_THAT(parseError(R"({"libraries": [{"file": "a.so", "modules": [], "path": "x"}]})"),
              HasSubstr("m.json: libraries[0].path: unknown key (expected one of: file, name, modules)"));
  EXPECT_THAT(parseError(R"({"libraries": [{"file": "a.so", "modules": [{"name": "m", "paramters": []}]}]})"),
              HasSubstr("m.json: libraries[0].modules[0].paramters: unknown key"));
  EXPECT_THAT(
      parseError(
          R"({"libraries": [{"file": "a.so", "modules": [{"name": "m", "parameters": [{"key": "k", "value": "v", "type": "x"}]}]}]})"),
      AllOf(HasSubstr("m.json: libraries[0].modules[0].parameters[0].type: unknown key"), HasSubstr("module 'm'")));
}

TEST(ManifestTest, WrongTypesAndMissingKeys) {
  EXPECT_THAT(parseError(R"({})"), HasSubstr("m.json: missing required key 'libraries'"));
  EXPECT_THAT(parseError(R"({"libraries": {}})"), HasSubstr("m.json: libraries: expected an array, got an object"));
  EXPECT_THAT(parseError(R"({"libraries": [{"modules": []}]})"),
              HasSubstr("m.json: libraries[0]: a library needs 'file' or 'name'"));
  EXPECT_THAT(parseError(R"({"libraries": [{"file": 7, "modules": []}]})"),
              HasSubstr("m.json: libraries[0].file: expected a string, got an integer"));
  EXPECT_THAT(parseError(R"({"libraries": [{"file": "a.so"}]})"),
              HasSubstr("m.json: libraries[0]: missing required key 'modules'"));
  EXPECT_THAT(parseError(R"({"libraries": [{"file": "a.so", "modules": [{}]}]})"),
              HasSubstr("m.json: libraries[0].modules[0]: missing required key 'name'"));
  EXPECT_THAT(parseError(R"({"libraries": [{"file": "a.so", "modules": [{"name": "m", "required": "yes"}]}]})"),
              HasSubstr("m.json: libraries[0].modules[0].required (module 'm'): expected a boolean, got a string"));
  EXPECT_THAT(parseError(R"({"libraries": [{"file": "a.so", "modules": [{"name": "m", "timeout_ms": -5}]}]})"),
              HasSubstr("libraries[0].modules[0].timeout_ms (module 'm'): expected a non-negative integer"));
  EXPECT_THAT(parseError(R"({"libraries": [{"file": "a.so", "modules": [{"name": "m", "config": []}]}]})"),
              HasSubstr("libraries[0].modules[0].config (module 'm'): expected an object, got an array"));
  EXPECT_THAT(
      parseError(R"({"libraries": [{"file": "a.so", "modules": [{"name": "m", "config": {}, "parameters": []}]}]})"),
      HasSubstr("give either 'config' or 'parameters', not both"));
  EXPECT_THAT(
      parseError(
          R"({"libraries": [{"file": "a.so", "modules": [{"name": "m", "parameters": [{"key": "k", "value": 3}]}]}]})"),
      HasSubstr("libraries[0].modules[0].parameters[0].value (module 'm'): expected a string, got an integer"));
  EXPECT_THAT(
      parseError(
          R"({"libraries": [{"file": "a.so", "modules": [{"name": "m", "parameters": [{"key": "k", "value": "1"}, {"key": "k", "value": "2"}]}]}]})"),
      HasSubstr("parameters[1].key (module 'm'): parameter 'k' given twice"));
}

TEST(ManifestTest, ProcessIsSharedOrSeparateAndAnythingElseIsAnErrorNamingTheModule) {
  Result<Manifest> m = parseManifest(
      R"({"libraries": [{"file": "a.so", "modules": [{"name": "m"}, {"name": "n", "process": "separate"},
                                                      {"name": "o", "process": "shared"}]}]})",
      "m.json", "");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->modules.at(0).process, ModuleSpec::Process::kShared);
  EXPECT_EQ(m->modules.at(1).process, ModuleSpec::Process::kSeparate);
  EXPECT_EQ(m->modules.at(2).process, ModuleSpec::Process::kShared);
  EXPECT_THAT(parseError(R"({"libraries": [{"file": "a.so", "modules": [{"name": "m", "process": "own"}]}]})"),
              HasSubstr("m.json: libraries[0].modules[0].process (module 'm'): unknown value 'own' (expected "
                        "\"shared\" or \"separate\")"));
  EXPECT_THAT(parseError(R"({"libraries": [{"file": "a.so", "modules": [{"name": "m", "process": true}]}]})"),
              HasSubstr("m.json: libraries[0].modules[0].process (module 'm'): expected a string, got a boolean"));
}

TEST(ManifestTest, TimeoutsBeyondThirtyTwoBitsAreErrorsNotExceptions) {
  // jsoncpp's asInt64 threw on integers above INT64_MAX and on such reals.
  for (const char* value : {"18446744073709551615", "1e19", "4294967296", "1.5", "-1"}) {
    EXPECT_THAT(parseError(std::string(R"({"libraries": [{"file": "a.so", "modules": [{"name": "m", "timeout_ms": )") +
                           value + "}]}]}"),
                HasSubstr("timeout_ms (module 'm'): expected a non-negative integer of milliseconds up to 4294967295"))
        << value;
  }
  Result<Manifest> m = parseManifest(
      R"({"libraries": [{"file": "a.so", "modules": [{"name": "m", "timeout_ms": 4294967295}]}]})", "m.json", "");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->modules.at(0).timeoutMs, 4294967295u);
}

TEST(ManifestTest, DeeplyNestedConfigIsAnErrorNamingTheFile) {
  std::string config = std::string(100000, '[');
  EXPECT_THAT(parseError(R"({"libraries": [{"file": "a.so", "modules": [{"name": "m", "config": {"a": )" + config),
              HasSubstr("m.json: not valid JSON: nesting deeper than 100 levels"));
}

TEST(ManifestTest, DuplicatesIdenticalAreHarmlessConflictingAreErrors) {
  Result<Manifest> same = parseManifest(
      R"({"libraries": [{"file": "/a.so", "modules": [{"name": "m", "config": {"x": 1}}]},
                        {"file": "/a.so", "modules": [{"name": "m", "config": {"x": 1}}]}]})",
      "m.json", "");
  ASSERT_TRUE(same.ok()) << same.error().message;
  EXPECT_EQ(same->modules.size(), 1u);

  std::string conflict = parseError(
      R"({"libraries": [{"file": "/a.so", "modules": [{"name": "m", "config": {"x": 1}}]},
                        {"file": "/a.so", "modules": [{"name": "m", "config": {"x": 2}}]}]})");
  EXPECT_THAT(conflict, AllOf(HasSubstr("m.json: libraries[1].modules[0]: module instance 'm' conflicts with its "
                                        "declaration at m.json: libraries[0].modules[0]")));

  // Two instances of one module with different configs are fine when named apart.
  Result<Manifest> two = parseManifest(
      R"({"libraries": [{"file": "/a.so", "modules": [{"name": "m", "instance": "m1", "config": {"x": 1}},
                                                      {"name": "m", "instance": "m2", "config": {"x": 2}}]}]})",
      "m.json", "");
  ASSERT_TRUE(two.ok()) << two.error().message;
  EXPECT_EQ(two->modules.size(), 2u);
}

TEST(ManifestTest, ConflictAcrossManifestFiles) {
  mantle::testing::TempDir dir;
  dir.write("a.json", manifestFor(fixturePath("test_modules"), "echo", R"("config": {"greeting": "hi"})"));
  dir.write("b.json", manifestFor(fixturePath("test_modules"), "echo", R"("config": {"greeting": "ho"})"));
  Manifest manifest;
  Status status = loadManifest(dir.path().string(), manifest);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, AllOf(HasSubstr("b.json: libraries[0].modules[0]: module instance 'echo'"),
                                            HasSubstr("a.json: libraries[0].modules[0]")));
}

TEST(ManifestTest, InlineJson) {
  Manifest manifest;
  Status status = loadManifest("  " + manifestFor("/abs/lib.so", "m"), manifest);
  ASSERT_TRUE(status.ok()) << status.error().message;
  ASSERT_EQ(manifest.modules.size(), 1u);
  EXPECT_EQ(manifest.modules[0].library, "/abs/lib.so");
  EXPECT_EQ(manifest.modules[0].source, "inline manifest: libraries[0].modules[0]");

  Status bad = loadManifest(R"({"libraries": 1})", manifest);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("inline manifest: libraries: expected an array"));
}

TEST(ManifestTest, DirectoryIsReadInSortedOrder) {
  mantle::testing::TempDir dir;
  // Written out of order; only *.json files count.
  dir.write("20-second.json", R"({"libraries": [{"file": "/b.so", "modules": [{"name": "second"}]}]})");
  dir.write("10-first.json", R"({"libraries": [{"file": "/a.so", "modules": [{"name": "first"}]}]})");
  dir.write("30-third.json", R"({"libraries": [{"name": "c", "modules": [{"name": "third"}]}]})");
  dir.write("README.txt", "not a manifest");
  Manifest manifest;
  Status status = loadManifest(dir.path().string(), manifest);
  ASSERT_TRUE(status.ok()) << status.error().message;
  ASSERT_EQ(manifest.modules.size(), 3u);
  EXPECT_EQ(manifest.modules[0].instance, "first");
  EXPECT_EQ(manifest.modules[1].instance, "second");
  EXPECT_EQ(manifest.modules[2].instance, "third");
  EXPECT_FALSE(manifest.modules[2].libraryIsPath);
  EXPECT_THAT(manifest.modules[1].source, HasSubstr("20-second.json: libraries[0].modules[0]"));
}

TEST(ManifestTest, FileSchemeAndRelativePaths) {
  mantle::testing::TempDir dir;
  auto file = dir.write("sub/m.json", R"({"libraries": [{"file": "../lib/x.so", "modules": [{"name": "m"}]}]})");
  Manifest manifest;
  Status status = loadManifest("file://" + file.string(), manifest);
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(manifest.modules[0].library, (dir.path() / "lib/x.so").string());

  Manifest missing;
  Status gone = loadManifest((dir.path() / "nope.json").string(), missing);
  ASSERT_FALSE(gone.ok());
  EXPECT_THAT(gone.error().message, HasSubstr("nope.json' does not exist"));
}

// A manifest written for Mesos' --modules flag loads unchanged: parameters
// become the module's configuration, converted to the declared types.
TEST(ManifestTest, MesosShapedManifestLoadsUnchanged) {
  mantle::testing::TempDir dir;
  auto file = dir.write("mesos.json", R"({
    "libraries": [
      {
        "file": ")" + fixturePath("test_modules") +
                                          R"(",
        "modules": [
          {
            "name": "echo",
            "parameters": [
              {"key": "greeting", "value": "bonjour"},
              {"key": "count", "value": "7"},
              {"key": "ratio", "value": "0.25"},
              {"key": "verbose", "value": "true"},
              {"key": "tags", "value": "x,y,z"}
            ]
          }
        ]
      }
    ]
  })");
  Manifest manifest;
  ASSERT_TRUE(loadManifest(file.string(), manifest).ok());
  Registry registry;
  Status loaded = registry.load(manifest);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const Registry::Entry* entry = registry.find("echo");
  ASSERT_NE(entry, nullptr);
  const auto& values = entry->config.values();
  EXPECT_EQ(values.at("greeting").string_value(), "bonjour");
  EXPECT_EQ(values.at("count").int_value(), 7);
  EXPECT_DOUBLE_EQ(values.at("ratio").double_value(), 0.25);
  EXPECT_TRUE(values.at("verbose").bool_value());
  EXPECT_EQ(values.at("tags").string_list_value().items_size(), 3);
  EXPECT_FALSE(values.contains("token"));
}

}  // namespace
}  // namespace mantle::modules
