// The layering rules (tests/layering/layering.hpp) hold for this tree, and
// the check reports each kind of break in a small tree made to break it.
#include "layering.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "temp_dir.hpp"

namespace mantle::layering {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> described(const std::vector<Violation>& violations) {
  std::vector<std::string> out;
  for (const Violation& v : violations) out.push_back(v.toString());
  return out;
}

// A tree with one file per layer, each including only what it may.
class SmallTree : public ::testing::Test {
 protected:
  SmallTree() {
    dir_.write("module-api/include/mantle/result.hpp", "#include <string>\n");
    dir_.write("module-api/include/mantle/module_api/sdk/hook.hpp",
               "#include \"mantle/result.hpp\"\n#include \"mantle/module/v1/hook.pb.h\"\n");
    dir_.write("common/include/mantle/common/uuid.hpp", "#include <string>\n");
    dir_.write("common/src/uuid.cpp", "#include \"mantle/common/uuid.hpp\"\n#include \"mantle/result.hpp\"\n");
    dir_.write("modules/include/mantle/modules/registry.hpp", "#include \"mantle/common/uuid.hpp\"\n");
    dir_.write("core/wire/json.hpp", "#include \"mesos/v1/mesos.pb.h\"\n#include <json/value.h>\n");
    dir_.write("core/agent/agent.cpp",
               "#include \"agent/agent.hpp\"\n#include \"wire/json.hpp\"\n#include \"mantle/modules/registry.hpp\"\n");
    dir_.write("core/agent/agent.hpp", "#pragma once\n");
    dir_.write("isolators/cgroups_common/container.hpp", "#include <string>\n");
    dir_.write("isolators/disk/disk.cpp",
               "#include \"disk.hpp\"\n#include \"container.hpp\"\n#include <zookeeper/zookeeper.h>\n"
               "#include \"mantle/module_api/sdk/hook.hpp\"\n#include \"mantle/common/uuid.hpp\"\n");
    dir_.write("isolators/disk/disk.hpp", "#pragma once\n");
    dir_.write("allocators/drf/drf.cpp", "#include \"mantle/module/v1/allocator.pb.h\"\n");
    dir_.write("examples/modules/greeting/greeting.cpp", "#  include <json/json.h>\n");
    dir_.write("tests/anything.cpp", "#include \"wire/json.hpp\"\n#include \"container.hpp\"\n");
  }

  testing::TempDir dir_;
};

TEST_F(SmallTree, ATreeThatKeepsTheRulesHasNoViolations) {
  EXPECT_THAT(described(checkLayers(dir_.path())), IsEmpty());
}

TEST_F(SmallTree, AModuleIncludingCoreIsReported) {
  dir_.write("hooks/labels/labels.cpp", "#include <string>\n#include \"wire/json.hpp\"\n");
  EXPECT_THAT(described(checkLayers(dir_.path())),
              ElementsAre("hooks/labels/labels.cpp:2: #include \"wire/json.hpp\": hooks/ may not include core/"));
}

TEST_F(SmallTree, AModuleIncludingTheHostOrCoreProtocolsIsReported) {
  dir_.write("authenticators/basic/basic.cpp",
             "#include \"mantle/modules/registry.hpp\"\n#include \"mesos/v1/mesos.pb.h\"\n"
             "#include \"../../core/agent/agent.hpp\"\n");
  EXPECT_THAT(described(checkLayers(dir_.path())),
              ElementsAre("authenticators/basic/basic.cpp:1: #include \"mantle/modules/registry.hpp\": "
                          "authenticators/ may not include modules/",
                          "authenticators/basic/basic.cpp:2: #include \"mesos/v1/mesos.pb.h\": "
                          "authenticators/ may not include core/",
                          "authenticators/basic/basic.cpp:3: #include \"../../core/agent/agent.hpp\": "
                          "authenticators/ may not include core/"));
}

TEST_F(SmallTree, AModuleIncludingAnotherModuleFoldersFilesIsReported) {
  dir_.write("allocators/drf/uses_isolator.cpp", "#include \"container.hpp\"\n");
  EXPECT_THAT(described(checkLayers(dir_.path())),
              ElementsAre("allocators/drf/uses_isolator.cpp:1: #include \"container.hpp\": "
                          "allocators/ may not include isolators/"));
}

TEST_F(SmallTree, CoreIncludingAModulesSourcesIsReported) {
  dir_.write("core/agent/containerizer.cpp", "#include \"container.hpp\"\n#include \"isolators/disk/disk.hpp\"\n");
  EXPECT_THAT(
      described(checkLayers(dir_.path())),
      ElementsAre("core/agent/containerizer.cpp:1: #include \"container.hpp\": core/ may not include isolators/",
                  "core/agent/containerizer.cpp:2: #include \"isolators/disk/disk.hpp\": "
                  "core/ may not include isolators/"));
}

TEST_F(SmallTree, TheModuleApiIncludingAnythingOfTheHostIsReported) {
  dir_.write("module-api/include/mantle/module_api/sdk/bad.hpp",
             "#include \"mantle/common/uuid.hpp\"\n#include \"mantle/modules/registry.hpp\"\n"
             "#include \"wire/json.hpp\"\n");
  EXPECT_THAT(described(checkLayers(dir_.path())),
              ElementsAre("module-api/include/mantle/module_api/sdk/bad.hpp:1: #include \"mantle/common/uuid.hpp\": "
                          "module-api/ may not include common/",
                          "module-api/include/mantle/module_api/sdk/bad.hpp:2: #include "
                          "\"mantle/modules/registry.hpp\": module-api/ may not include modules/",
                          "module-api/include/mantle/module_api/sdk/bad.hpp:3: #include \"wire/json.hpp\": "
                          "module-api/ may not include core/"));
}

TEST_F(SmallTree, CommonIncludingModulesOrCoreIsReported) {
  dir_.write("common/src/bad.cpp", "#include \"mantle/modules/registry.hpp\"\n#include \"agent/agent.hpp\"\n");
  EXPECT_THAT(described(checkLayers(dir_.path())),
              ElementsAre("common/src/bad.cpp:1: #include \"mantle/modules/registry.hpp\": "
                          "common/ may not include modules/",
                          "common/src/bad.cpp:2: #include \"agent/agent.hpp\": common/ may not include core/"));
}

TEST_F(SmallTree, TheHostSideOfModulesIncludingCoreIsReported) {
  dir_.write("modules/src/manifest.cpp", "#include \"wire/json.hpp\"\n");
  EXPECT_THAT(described(checkLayers(dir_.path())),
              ElementsAre("modules/src/manifest.cpp:1: #include \"wire/json.hpp\": modules/ may not include core/"));
}

TEST_F(SmallTree, ACoreFolderIncludingOneItDoesNotDependOnIsReported) {
  dir_.write("core/http/server.cpp", "#include \"wire/json.hpp\"\n#include \"agent/agent.hpp\"\n");
  dir_.write("core/wire/uses_agent.cpp", "#include \"../agent/agent.hpp\"\n");
  EXPECT_THAT(
      described(checkLayers(dir_.path())),
      ElementsAre("core/http/server.cpp:2: #include \"agent/agent.hpp\": core/http/ may not include core/agent/",
                  "core/wire/uses_agent.cpp:1: #include \"../agent/agent.hpp\": "
                  "core/wire/ may not include core/agent/"));
}

TEST_F(SmallTree, ACoreFolderMissingFromTheDependencyTableIsReported) {
  dir_.write("core/newtool/newtool.cpp", "#include \"newtool.hpp\"\n#include \"wire/json.hpp\"\n");
  dir_.write("core/newtool/newtool.hpp", "#pragma once\n");
  EXPECT_THAT(described(checkLayers(dir_.path())),
              ElementsAre("core/newtool/newtool.cpp:2: #include \"wire/json.hpp\": core/newtool/ has no line in the "
                          "core dependency table (tests/layering/layering.cpp)"));
}

TEST(Layering, ThisSourceTreeKeepsItsLayers) {
  const std::vector<std::string> violations = described(checkLayers(MANTLE_SOURCE_DIR));
  EXPECT_THAT(violations, IsEmpty()) << "see docs/ARCHITECTURE.md for what may include what";
}

}  // namespace
}  // namespace mantle::layering
