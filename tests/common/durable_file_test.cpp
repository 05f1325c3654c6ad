// durable::writeFile replaces a file whole, making the directories it needs.
#include "mantle/common/durable_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "temp_dir.hpp"

namespace mantle::durable {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class DurableFileTest : public ::testing::Test {
 protected:
  testing::TempDir tempDir_;
  const fs::path dir_ = tempDir_.path();
};

TEST_F(DurableFileTest, WritesIntoDirectoriesItMakesAndReplacesTheFileWhole) {
  const fs::path path = dir_ / "a" / "b" / "state.json";
  ASSERT_TRUE(writeFile(path.string(), "first, and longer").ok());
  EXPECT_EQ(testing::readText(path), "first, and longer");
  ASSERT_TRUE(writeFile(path.string(), "second").ok());
  EXPECT_EQ(testing::readText(path), "second");
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(DurableFileTest, AFailureNamesTheFileAndLeavesTheOldContent) {
  const fs::path blocker = dir_ / "file";
  ASSERT_TRUE(writeFile(blocker.string(), "old").ok());
  Status under = writeFile((blocker / "child").string(), "x");
  ASSERT_FALSE(under.ok());
  EXPECT_THAT(under.error().message, HasSubstr(blocker.string()));
  fs::create_directory(blocker.string() + ".tmp");  // the temporary cannot be written
  Status blocked = writeFile(blocker.string(), "new");
  ASSERT_FALSE(blocked.ok());
  EXPECT_THAT(blocked.error().message, HasSubstr("cannot write " + blocker.string() + ".tmp"));
  EXPECT_EQ(testing::readText(blocker), "old");
}

}  // namespace
}  // namespace mantle::durable
