#include "images/gc.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace mantle::images {
namespace {

using ::testing::HasSubstr;

TEST(ImageGcConfigTest, ReadsMesosFieldsInlineOrFromAFile) {
  const std::string text = R"({"image_disk_headroom": 0.25,
    "image_disk_watch_interval": {"nanoseconds": 60000000000},
    "excluded_images": [{"type": "DOCKER", "docker": {"name": "busybox:1.36"}},
                        {"type": "OCI", "docker": {"name": "/srv/layout:v1"}}]})";
  testing::TempDir dir;
  for (const std::string& value : {text, dir.write("gc.json", text).string()}) {
    auto config = parseImageGcConfig(value);
    ASSERT_TRUE(config.ok()) << config.error().message;
    EXPECT_DOUBLE_EQ(config->diskHeadroom, 0.25);
    EXPECT_EQ(config->watchInterval, std::chrono::seconds(60));
    ASSERT_EQ(config->excludedImages.size(), 2u);
    EXPECT_EQ(config->excludedImages[0].name, "busybox:1.36");
    EXPECT_EQ(config->excludedImages[1].type, ImageReference::Type::kOci);
  }
  auto defaults = parseImageGcConfig("{}");
  ASSERT_TRUE(defaults.ok());
  EXPECT_DOUBLE_EQ(defaults->diskHeadroom, 0.1);
  EXPECT_EQ(defaults->watchInterval, std::chrono::hours(1));
}

TEST(ImageGcConfigTest, BadValuesAreRefusedNamingTheField) {
  EXPECT_THAT(parseImageGcConfig(R"({"image_disk_headroom": 2})").error().message,
              HasSubstr("--image_gc_config: image_disk_headroom: expected a number in [0, 1]"));
  EXPECT_THAT(parseImageGcConfig(R"({"image_disk_watch_interval": {"seconds": 5}})").error().message,
              HasSubstr("image_disk_watch_interval: expected {\"nanoseconds\""));
  EXPECT_THAT(parseImageGcConfig(R"({"excluded_images": [{"type": "APPC", "docker": {"name": "x"}}]})").error().message,
              HasSubstr("excluded_images[0].type: expected DOCKER or OCI"));
  EXPECT_THAT(parseImageGcConfig(R"({"headroom": 0.1})").error().message, HasSubstr("unknown field 'headroom'"));
  EXPECT_THAT(parseImageGcConfig("/no/such/file.json").error().message, HasSubstr("cannot read /no/such/file.json"));
}

}  // namespace
}  // namespace mantle::images
