#include "images/reference.hpp"

#include <gtest/gtest.h>

namespace mantle::images {
namespace {

TEST(ImageReferenceTest, ASingleComponentNameOnTheDefaultRegistryGetsLibraryAndLatest) {
  auto name = parseDockerName("busybox", true);
  ASSERT_TRUE(name.ok()) << name.error().message;
  EXPECT_EQ(name->registry, "");
  EXPECT_EQ(name->repository, "library/busybox");
  EXPECT_EQ(name->tag, "latest");
  EXPECT_EQ(name->text(), "library/busybox:latest");
}

TEST(ImageReferenceTest, AFirstComponentWithAPortOrADotIsTheRegistry) {
  auto name = parseDockerName("127.0.0.1:5000/busybox:1.36", true);
  ASSERT_TRUE(name.ok()) << name.error().message;
  EXPECT_EQ(name->registry, "127.0.0.1:5000");
  EXPECT_EQ(name->repository, "busybox");
  EXPECT_EQ(name->tag, "1.36");
  auto dotted = parseDockerName("registry.example.com/team/app", true);
  ASSERT_TRUE(dotted.ok());
  EXPECT_EQ(dotted->registry, "registry.example.com");
  EXPECT_EQ(dotted->repository, "team/app");
  auto plain = parseDockerName("team/app:v1", true);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->registry, "");
  EXPECT_EQ(plain->repository, "team/app");
}

TEST(ImageReferenceTest, ADigestReplacesTheTag) {
  const std::string digest = "sha256:" + std::string(64, 'a');
  auto name = parseDockerName("localhost/app@" + digest, true);
  ASSERT_TRUE(name.ok()) << name.error().message;
  EXPECT_EQ(name->registry, "localhost");
  EXPECT_EQ(name->tag, "");
  EXPECT_EQ(name->reference(), digest);
}

TEST(ImageReferenceTest, LocalArchivesKeepTheRepositoryAsWritten) {
  auto name = parseDockerName("busybox:musl", false);
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->repository, "busybox");
}

TEST(ImageReferenceTest, MalformedNamesAreRefusedSayingWhy) {
  EXPECT_NE(parseDockerName("Busybox", true).error().message.find("invalid repository component 'Busybox'"),
            std::string::npos);
  EXPECT_NE(parseDockerName("app@sha256:xyz", true).error().message.find("digest"), std::string::npos);
  EXPECT_NE(parseDockerName("app:bad!tag", true).error().message.find("invalid tag 'bad!tag'"), std::string::npos);
  EXPECT_FALSE(parseDockerName(":tag", true).ok());
}

TEST(ImageReferenceTest, AnOciLayoutNameIsAnAbsoluteDirectoryAndAnOptionalTag) {
  auto tagged = parseOciLayoutName("/srv/images/app:v2");
  ASSERT_TRUE(tagged.ok());
  EXPECT_EQ(tagged->directory, "/srv/images/app");
  EXPECT_EQ(tagged->tag, "v2");
  auto untagged = parseOciLayoutName("/srv/images/app/");
  ASSERT_TRUE(untagged.ok());
  EXPECT_EQ(untagged->directory, "/srv/images/app");
  EXPECT_EQ(untagged->tag, "latest");
  EXPECT_FALSE(parseOciLayoutName("relative/dir").ok());
}

}  // namespace
}  // namespace mantle::images
