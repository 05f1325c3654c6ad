// The image store against real components: Debian's docker-registry on a
// loopback port, images built from busybox-static with umoci and pushed with
// skopeo, docker-archive tarballs and OCI layouts written by skopeo.
#include "images/store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <json/writer.h>
#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "cutting_proxy.hpp"
#include "docker_registry.hpp"
#include "images/digest.hpp"
#include "mantle/common/strict_json.hpp"
#include "run_until.hpp"
#include "temp_dir.hpp"

namespace mantle::images {
namespace {

namespace fs = std::filesystem;
using testing::BusyboxImage;
using testing::CuttingProxy;
using testing::DockerRegistry;
using ::testing::HasSubstr;
using testing::readText;
using testing::RegistryAuth;
using testing::TempDir;

Json::Value readJson(const fs::path& path) {
  auto parsed = json::parseStrict(readText(path), path.string());
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  return parsed.ok() ? *parsed : Json::Value();
}

// The OCI layout every test copies from, built once: "latest" (2 layers),
// "other" (1 layer) and "multi", an index of latest as linux/amd64 and other
// as linux/arm64.
class Images {
 public:
  Images() {
    testing::buildBusyboxLayout(layout(), BusyboxImage{.tag = "latest", .layers = 2, .payloadBytesPerLayer = 1 << 20});
    testing::buildBusyboxLayout(layout(), BusyboxImage{.tag = "other", .layers = 1});
    Json::Value index = readJson(layout() / "index.json");
    Json::Value latest;
    Json::Value other;
    for (const auto& entry : index["manifests"]) {
      const std::string tag = entry["annotations"]["org.opencontainers.image.ref.name"].asString();
      if (tag == "latest") latest = entry;
      if (tag == "other") other = entry;
    }
    latestManifest = latest["digest"].asString();
    Json::Value manifest = readJson(blob(latestManifest));
    for (const auto& layer : manifest["layers"]) latestLayers.push_back(layer["digest"].asString());
    latest.removeMember("annotations");
    other.removeMember("annotations");
    latest["platform"]["os"] = "linux";
    latest["platform"]["architecture"] = "amd64";
    other["platform"]["os"] = "linux";
    other["platform"]["architecture"] = "arm64";
    Json::Value multi(Json::objectValue);
    multi["schemaVersion"] = 2;
    multi["mediaType"] = "application/vnd.oci.image.index.v1+json";
    multi["manifests"].append(other);
    multi["manifests"].append(latest);
    const std::string text = Json::writeString(Json::StreamWriterBuilder(), multi);
    const std::string digest = sha256Digest(text);
    std::ofstream(blob(digest), std::ios::binary) << text;
    Json::Value entry(Json::objectValue);
    entry["mediaType"] = "application/vnd.oci.image.index.v1+json";
    entry["digest"] = digest;
    entry["size"] = Json::Int64(text.size());
    entry["annotations"]["org.opencontainers.image.ref.name"] = "multi";
    index["manifests"].append(entry);
    std::ofstream(layout() / "index.json") << Json::writeString(Json::StreamWriterBuilder(), index);
  }

  fs::path layout() const { return dir_.path() / "layout"; }
  fs::path blob(const std::string& digest) const { return layout() / "blobs/sha256" / digestHex(digest); }

  std::string latestManifest;
  std::vector<std::string> latestLayers;  // lowest first

 private:
  TempDir dir_;
};

class ImageStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { images_ = new Images(); }
  static void TearDownTestSuite() {
    delete images_;
    images_ = nullptr;
  }

  std::unique_ptr<ImageStore> makeStore(StoreOptions options = {}) {
    if (options.storeDir.empty()) options.storeDir = (dir_.path() / "store").string();
    auto store = ImageStore::create(io_.get_executor(), options);
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(*store) : nullptr;
  }

  // Pushes the layout's image `tag` to `registry` as `name` (v2s2 or oci).
  void push(const DockerRegistry& registry, const std::string& tag, const std::string& name,
            const std::string& format = "v2s2") {
    std::vector<std::string> extra{"--format", format};
    if (!registry.credentials().empty()) extra = {"--dest-creds", registry.credentials(), "--format", format};
    if (tag == "multi") extra = {"--all"};
    testing::skopeoCopy("oci:" + images_->layout().string() + ":" + tag, "docker://" + registry.host() + "/" + name,
                        extra);
  }

  // Runs the pull to its callback on the test's io_context.
  Result<PulledImage> pull(ImageStore& store, ImageReference image, bool forcePull = false) {
    std::optional<Result<PulledImage>> result;
    store.pull(image, forcePull, [&](Result<PulledImage> r) { result = std::move(r); });
    testing::runUntil(io_, std::chrono::seconds(120), [&result] { return result.has_value(); });
    if (!result) return internalError("the pull never called back");
    return *result;
  }

  Result<PulledImage> pullDocker(ImageStore& store, const std::string& name) {
    return pull(store, ImageReference{ImageReference::Type::kDocker, name});
  }

  static Images* images_;
  boost::asio::io_context io_;
  TempDir dir_;
};

Images* ImageStoreTest::images_ = nullptr;

TEST_F(ImageStoreTest, PullsASchema2ImageWithItsLayersLowestFirstAndItsConfig) {
  DockerRegistry registry;
  push(registry, "latest", "busybox:latest");
  auto store = makeStore();
  auto image = pullDocker(*store, registry.host() + "/busybox");
  ASSERT_TRUE(image.ok()) << image.error().message;
  ASSERT_EQ(image->layers.size(), 2u);
  EXPECT_TRUE(fs::is_regular_file(fs::path(image->layers[0]) / "bin/busybox"));
  EXPECT_TRUE(fs::is_symlink(fs::path(image->layers[0]) / "bin/sh"));
  EXPECT_EQ(readText(fs::path(image->layers[0]) / "etc/hello"), "hello from the busybox image\n");
  EXPECT_TRUE(fs::exists(fs::path(image->layers[1]) / "etc/layer2"));
  EXPECT_FALSE(fs::exists(fs::path(image->layers[0]) / "etc/layer2"));
  EXPECT_THAT(image->config.entrypoint(), ::testing::ElementsAre("/bin/sh", "-c"));
  EXPECT_THAT(image->config.cmd(), ::testing::ElementsAre("cat /etc/hello"));
  EXPECT_THAT(image->config.env(), ::testing::Contains("IMAGE_VAR=from-image"));
  EXPECT_EQ(image->config.working_dir(), "/etc");
  EXPECT_TRUE(isSha256Digest(image->id));
  EXPECT_NE(image->id, images_->latestManifest);  // converted to schema 2 by skopeo: a manifest of its own
  ASSERT_EQ(store->images().size(), 1u);
  EXPECT_EQ(store->images()[0].references, std::vector<std::string>{registry.host() + "/busybox:latest"});
  EXPECT_GT(store->images()[0].bytes, 1u << 20);
  // Nothing left half-done.
  EXPECT_TRUE(fs::is_empty(dir_.path() / "store/staging"));
  EXPECT_EQ(store->directory(), fs::canonical(dir_.path() / "store").string());
}

TEST_F(ImageStoreTest, TwoImagesWithTheSameLayersShareTheirDownloadsAndExtractedLayers) {
  DockerRegistry registry;
  push(registry, "latest", "busybox:v2s2", "v2s2");
  push(registry, "latest", "busybox:oci", "oci");
  CuttingProxy proxy(std::stoi(registry.host().substr(registry.host().find(':') + 1)));
  auto store = makeStore();
  // Pulled at the same time: each layer is still downloaded once.
  std::optional<Result<PulledImage>> schema2;
  std::optional<Result<PulledImage>> oci;
  store->pull({ImageReference::Type::kDocker, proxy.host() + "/busybox:v2s2"}, false,
              [&](Result<PulledImage> r) { schema2 = std::move(r); });
  store->pull({ImageReference::Type::kDocker, proxy.host() + "/busybox:oci"}, false,
              [&](Result<PulledImage> r) { oci = std::move(r); });
  testing::runUntil(io_, std::chrono::seconds(120), [&] { return schema2 && oci; });
  ASSERT_TRUE(schema2 && oci);
  ASSERT_TRUE(schema2->ok()) << schema2->error().message;
  ASSERT_TRUE(oci->ok()) << oci->error().message;
  EXPECT_NE((*schema2)->id, (*oci)->id);
  EXPECT_EQ((*oci)->id, images_->latestManifest);  // the OCI manifest as built
  EXPECT_EQ((*schema2)->layers, (*oci)->layers);
  for (const auto& layer : images_->latestLayers) EXPECT_EQ(proxy.blobGets(layer), 1) << layer;
  EXPECT_EQ(store->images().size(), 2u);
}

TEST_F(ImageStoreTest, AnOciIndexResolvesToItsLinuxAmd64Manifest) {
  DockerRegistry registry;
  push(registry, "multi", "busybox:multi");
  auto store = makeStore();
  auto image = pullDocker(*store, registry.host() + "/busybox:multi");
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->id, images_->latestManifest);
  EXPECT_EQ(image->layers.size(), 2u);
}

TEST_F(ImageStoreTest, TheDefaultRegistryServesNamesWithoutARegistryAndSingleNamesGetLibrary) {
  DockerRegistry registry;
  push(registry, "latest", "library/busybox:latest");
  auto store = makeStore(StoreOptions{.defaultRegistry = registry.url()});
  auto image = pullDocker(*store, "busybox");
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(store->images()[0].references, std::vector<std::string>{registry.host() + "/library/busybox:latest"});
}

TEST_F(ImageStoreTest, TwoConcurrentPullsOfOneImageShareOneDownload) {
  DockerRegistry registry;
  push(registry, "latest", "busybox:latest");
  CuttingProxy proxy(std::stoi(registry.host().substr(registry.host().find(':') + 1)));
  auto store = makeStore();
  std::vector<Result<PulledImage>> results;
  const ImageReference image{ImageReference::Type::kDocker, proxy.host() + "/busybox"};
  for (int i = 0; i < 2; ++i) store->pull(image, false, [&](Result<PulledImage> r) { results.push_back(r); });
  testing::runUntil(io_, std::chrono::seconds(120), [&results] { return results.size() >= 2; });
  ASSERT_EQ(results.size(), 2u);
  ASSERT_TRUE(results[0].ok()) << results[0].error().message;
  ASSERT_TRUE(results[1].ok()) << results[1].error().message;
  EXPECT_EQ(results[0]->id, results[1]->id);
  EXPECT_EQ(proxy.manifestGets(), 1);
  for (const auto& layer : images_->latestLayers) EXPECT_EQ(proxy.blobGets(layer), 1) << layer;
  // Stored now: a third pull asks the registry nothing; a forced one asks again.
  ASSERT_TRUE(pull(*store, image).ok());
  EXPECT_EQ(proxy.manifestGets(), 1);
  ASSERT_TRUE(pull(*store, image, true).ok());
  EXPECT_EQ(proxy.manifestGets(), 2);
  for (const auto& layer : images_->latestLayers) EXPECT_EQ(proxy.blobGets(layer), 1) << layer;
}

TEST_F(ImageStoreTest, ALayerDownloadCutMidwayIsResumedWithARangeRequest) {
  DockerRegistry registry;
  push(registry, "latest", "busybox:latest");
  CuttingProxy proxy(std::stoi(registry.host().substr(registry.host().find(':') + 1)));
  const std::string big = images_->latestLayers[1];  // 1 MiB of random payload
  proxy.cut(big, 300 << 10, 2);
  auto store = makeStore();
  auto image = pullDocker(*store, proxy.host() + "/busybox");
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(proxy.blobGets(big), 3);
  EXPECT_EQ(proxy.rangeRequests(), 2);
  EXPECT_EQ(fs::file_size(fs::path(image->layers[1]) / "payload/2"), 1u << 20);
}

TEST_F(ImageStoreTest, ALayerCutOnEveryTryFailsNamingTheImageAndTheCause) {
  DockerRegistry registry;
  push(registry, "latest", "busybox:latest");
  CuttingProxy proxy(std::stoi(registry.host().substr(registry.host().find(':') + 1)));
  proxy.cut(images_->latestLayers[1], 100 << 10, 1000);
  auto store = makeStore(StoreOptions{.downloadRetries = 2});
  const std::string name = proxy.host() + "/busybox";
  auto image = pullDocker(*store, name);
  ASSERT_FALSE(image.ok());
  EXPECT_THAT(image.error().message, HasSubstr("image " + name + ": layer " + images_->latestLayers[1]));
  EXPECT_THAT(image.error().message, HasSubstr("download failed after 3 tries"));
  EXPECT_EQ(image.error().code, StatusCode::kUnavailable);
  EXPECT_TRUE(store->images().empty());
  EXPECT_FALSE(fs::exists(dir_.path() / "store/layers" / digestHex(images_->latestLayers[1])));
}

TEST_F(ImageStoreTest, ATamperedLayerFailsWithADigestMismatchNamingTheImage) {
  DockerRegistry registry;
  push(registry, "latest", "busybox:latest");
  const fs::path data = registry.blobFile(images_->latestLayers[0]);
  ASSERT_TRUE(fs::exists(data));
  std::string content = readText(data);
  content[content.size() / 2] ^= 0x5a;
  std::ofstream(data, std::ios::binary | std::ios::trunc) << content;
  auto store = makeStore();
  const std::string name = registry.host() + "/busybox:latest";
  auto image = pullDocker(*store, name);
  ASSERT_FALSE(image.ok());
  EXPECT_THAT(image.error().message, HasSubstr("image " + name));
  EXPECT_THAT(image.error().message, HasSubstr("digest mismatch: expected " + images_->latestLayers[0]));
  EXPECT_FALSE(fs::exists(dir_.path() / "store/layers" / digestHex(images_->latestLayers[0])));
}

TEST_F(ImageStoreTest, ALayerLongerThanItsManifestSaysIsCutOffAndRefused) {
  DockerRegistry registry;
  push(registry, "latest", "busybox:latest");
  std::ofstream(registry.blobFile(images_->latestLayers[1]), std::ios::binary | std::ios::app)
      << std::string(1 << 20, 'x');
  auto store = makeStore();
  const std::string name = registry.host() + "/busybox:latest";
  auto image = pullDocker(*store, name);
  ASSERT_FALSE(image.ok());
  EXPECT_THAT(image.error().message, HasSubstr("image " + name + ": layer " + images_->latestLayers[1]));
  EXPECT_THAT(image.error().message, HasSubstr("the registry sent more than the"));
  EXPECT_TRUE(fs::is_empty(dir_.path() / "store/staging"));
}

TEST_F(ImageStoreTest, AMissingTagFailsWithTheRegistrysErrorCode) {
  DockerRegistry registry;
  push(registry, "latest", "busybox:latest");
  auto store = makeStore();
  const std::string name = registry.host() + "/busybox:nope";
  auto image = pullDocker(*store, name);
  ASSERT_FALSE(image.ok());
  EXPECT_THAT(image.error().message,
              HasSubstr("image " + name + ": manifest nope: registry answered 404 MANIFEST_UNKNOWN"));
  EXPECT_EQ(image.error().code, StatusCode::kNotFound);
}

TEST_F(ImageStoreTest, BasicCredentialsComeFromTheDockerConfigAndBadOnesAreNamed) {
  DockerRegistry registry(RegistryAuth{.kind = RegistryAuth::Kind::kBasic});
  push(registry, "latest", "busybox:latest");
  const std::string name = registry.host() + "/busybox";
  const auto config = [&](const std::string& userPassword) {
    const std::string path = (dir_.path() / ("config-" + userPassword + ".json")).string();
    std::ofstream(path) << R"({"auths": {"http://)" + registry.host() + R"(": {"auth": ")" +
                               testing::base64(userPassword) + R"("}}})";
    return path;
  };
  {
    auto store = makeStore(StoreOptions{.storeDir = (dir_.path() / "anonymous").string()});
    auto image = pullDocker(*store, name);
    ASSERT_FALSE(image.ok());
    EXPECT_THAT(image.error().message, HasSubstr("image " + name + ": manifest latest: registry " + registry.host() +
                                                 " requires credentials and --docker_config has none for it"));
  }
  {
    auto store = makeStore(
        StoreOptions{.storeDir = (dir_.path() / "wrong").string(), .dockerConfigPath = config("mantle:wrong")});
    auto image = pullDocker(*store, name);
    ASSERT_FALSE(image.ok());
    EXPECT_THAT(image.error().message, HasSubstr("image " + name + ": manifest latest: registry " + registry.host() +
                                                 " refused the credentials (401 UNAUTHORIZED"));
    EXPECT_EQ(image.error().code, StatusCode::kUnauthenticated);
  }
  auto store = makeStore(
      StoreOptions{.storeDir = (dir_.path() / "right").string(), .dockerConfigPath = config("mantle:s3cret")});
  auto image = pullDocker(*store, name);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->layers.size(), 2u);
}

TEST_F(ImageStoreTest, TheBearerTokenFlowOfARegistryWithTokenAuthGetsATokenWithTheConfigsCredentials) {
  DockerRegistry registry(RegistryAuth{.kind = RegistryAuth::Kind::kToken});
  push(registry, "latest", "busybox:latest");
  const int pushTokens = registry.tokensIssued();
  const std::string name = registry.host() + "/busybox";
  const auto config = [&](const std::string& userPassword) {
    const std::string path = (dir_.path() / ("config-" + userPassword + ".json")).string();
    std::ofstream(path) << R"({"auths": {")" + registry.host() + R"(": {"auth": ")" + testing::base64(userPassword) +
                               R"("}}})";
    return path;
  };
  {
    auto store = makeStore(
        StoreOptions{.storeDir = (dir_.path() / "wrong").string(), .dockerConfigPath = config("mantle:wrong")});
    auto image = pullDocker(*store, name);
    ASSERT_FALSE(image.ok());
    EXPECT_THAT(image.error().message, HasSubstr("image " + name + ": manifest latest: token service"));
    EXPECT_THAT(image.error().message, HasSubstr("refused the credentials (401"));
  }
  auto store = makeStore(
      StoreOptions{.storeDir = (dir_.path() / "right").string(), .dockerConfigPath = config("mantle:s3cret")});
  auto image = pullDocker(*store, name);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(registry.tokensIssued(), pushTokens + 1);  // one token for the manifest, the config and the layers
}

TEST_F(ImageStoreTest, ADockerArchiveInTheLocalRegistryDirectoryIsPulledByTag) {
  const fs::path archives = dir_.path() / "archives";
  fs::create_directories(archives);
  testing::skopeoCopy("oci:" + images_->layout().string() + ":latest",
                      "docker-archive:" + (archives / "saved.tar").string() + ":busybox:latest");
  fs::rename(archives / "saved.tar", archives / "busybox:latest.tar");
  auto store = makeStore(StoreOptions{.defaultRegistry = archives.string()});
  auto image = pullDocker(*store, "busybox");
  ASSERT_TRUE(image.ok()) << image.error().message;
  ASSERT_EQ(image->layers.size(), 2u);
  EXPECT_TRUE(fs::is_regular_file(fs::path(image->layers[0]) / "bin/busybox"));
  EXPECT_THAT(image->config.cmd(), ::testing::ElementsAre("cat /etc/hello"));
  auto missing = pullDocker(*store, "busybox:nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message,
              HasSubstr("image busybox:nope: no image archive " + (archives / "busybox:nope.tar").string()));
  EXPECT_TRUE(fs::is_empty(dir_.path() / "store/staging"));
}

TEST_F(ImageStoreTest, AnOciLayoutOnDiskIsPulledByDirectoryAndTag) {
  auto store = makeStore();
  const std::string layout = images_->layout().string();
  auto image = pull(*store, ImageReference{ImageReference::Type::kOci, layout + ":latest"});
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->id, images_->latestManifest);
  ASSERT_EQ(image->layers.size(), 2u);
  auto multi = pull(*store, ImageReference{ImageReference::Type::kOci, layout + ":multi"});
  ASSERT_TRUE(multi.ok()) << multi.error().message;
  EXPECT_EQ(multi->id, images_->latestManifest);
  auto missing = pull(*store, ImageReference{ImageReference::Type::kOci, layout + ":nope"});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message,
              HasSubstr("image " + layout + ":nope: " + layout + "/index.json has no image tagged 'nope' (tags: "));
}

TEST_F(ImageStoreTest, PruneRemovesImagesNotInUseAndTheLayersNoImageKeeps) {
  DockerRegistry registry;
  push(registry, "latest", "busybox:v2s2", "v2s2");
  push(registry, "latest", "busybox:oci", "oci");
  push(registry, "other", "other:latest");
  auto store = makeStore();
  auto schema2 = pullDocker(*store, registry.host() + "/busybox:v2s2");
  auto oci = pullDocker(*store, registry.host() + "/busybox:oci");
  auto other = pullDocker(*store, registry.host() + "/other");
  ASSERT_TRUE(schema2.ok() && oci.ok() && other.ok());
  // oci is in use and shares its layers with v2s2: only other's layer goes.
  auto first = store->prune({oci->id});
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_THAT(first->removedImages, ::testing::UnorderedElementsAre(schema2->id, other->id));
  ASSERT_EQ(first->removedLayers.size(), 1u);
  EXPECT_FALSE(fs::exists(other->layers[0]));
  EXPECT_TRUE(fs::exists(oci->layers[0]) && fs::exists(oci->layers[1]));
  EXPECT_GT(first->bytesFreed, 0u);
  // A store opened again over the same directory has what is left.
  store.reset();
  store = makeStore();
  ASSERT_EQ(store->images().size(), 1u);
  EXPECT_EQ(store->images()[0].id, oci->id);
  // Excluded by name (the asynchronous form, as the agent calls it): kept.
  std::optional<Result<PruneReport>> excluded;
  store->prune({},
               {{ImageReference::Type::kDocker, registry.host() + "/busybox:oci"},
                {ImageReference::Type::kDocker, registry.host() + "/never:pulled"}},
               [&](Result<PruneReport> r) { excluded = std::move(r); });
  testing::runUntil(io_, std::chrono::seconds(30), [&excluded] { return excluded.has_value(); });
  ASSERT_TRUE(excluded && excluded->ok());
  EXPECT_TRUE((*excluded)->removedImages.empty());
  EXPECT_TRUE((*excluded)->removedLayers.empty());
  excluded.reset();
  store->prune({}, {{ImageReference::Type::kDocker, "Not A Name"}},
               [&](Result<PruneReport> r) { excluded = std::move(r); });
  testing::runUntil(io_, std::chrono::seconds(30), [&excluded] { return excluded.has_value(); });
  ASSERT_TRUE(excluded && !excluded->ok());
  EXPECT_THAT(excluded->error().message, HasSubstr("excluded image: image name 'Not A Name'"));
  EXPECT_EQ(store->images().size(), 1u);
  auto second = store->prune({});
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->removedImages, std::vector<std::string>{oci->id});
  EXPECT_EQ(second->removedLayers.size(), 2u);
  EXPECT_GT(second->bytesFreed, 1u << 20);
  EXPECT_TRUE(fs::is_empty(dir_.path() / "store/layers"));
  EXPECT_TRUE(store->images().empty());
}

TEST_F(ImageStoreTest, AForcedPullOfAMovedTagRecordsTheNewImageAndTheOldOneLosesTheName) {
  DockerRegistry registry;
  push(registry, "latest", "busybox:latest");
  auto store = makeStore();
  const std::string name = registry.host() + "/busybox:latest";
  auto before = pullDocker(*store, name);
  ASSERT_TRUE(before.ok()) << before.error().message;
  push(registry, "other", "busybox:latest");
  auto cached = pullDocker(*store, name);  // not forced: the stored image
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(cached->id, before->id);
  auto after = pull(*store, {ImageReference::Type::kDocker, name}, true);
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_NE(after->id, before->id);
  EXPECT_EQ(after->layers.size(), 1u);
  std::map<std::string, std::vector<std::string>> references;
  for (const auto& image : store->images()) references[image.id] = image.references;
  EXPECT_EQ(references[before->id], std::vector<std::string>{});
  EXPECT_EQ(references[after->id], std::vector<std::string>{name});
  auto pruned = store->prune({after->id});
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(pruned->removedImages, std::vector<std::string>{before->id});
}

TEST_F(ImageStoreTest, AnInterruptedExtractionIsNeverAStoredLayer) {
  auto store = makeStore();
  const std::string layout = images_->layout().string() + ":latest";
  ASSERT_TRUE(pull(*store, ImageReference{ImageReference::Type::kOci, layout}).ok());
  store.reset();
  // A crash mid-extraction leaves a directory in staging/; a lost layer
  // directory makes the image incomplete.
  fs::create_directories(dir_.path() / "store/staging/layer-crashed/rootfs/bin");
  fs::remove_all(dir_.path() / "store/layers" / digestHex(images_->latestLayers[1]));
  store = makeStore();
  EXPECT_FALSE(fs::exists(dir_.path() / "store/staging/layer-crashed"));
  auto image = pull(*store, ImageReference{ImageReference::Type::kOci, layout});
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_TRUE(fs::exists(fs::path(image->layers[1]) / "payload/2"));
}

TEST_F(ImageStoreTest, ROOT_AWhiteoutBecomesAnOverlayWhiteoutDevice) {
  if (::geteuid() != 0) GTEST_SKIP() << "whiteout devices need root";
  const fs::path layout = dir_.path() / "whiteout";
  testing::buildBusyboxLayout(layout, BusyboxImage{.tag = "latest", .layers = 2, .whiteout = true});
  auto store = makeStore();
  auto image = pull(*store, ImageReference{ImageReference::Type::kOci, layout.string()});
  ASSERT_TRUE(image.ok()) << image.error().message;
  ASSERT_EQ(image->layers.size(), 2u);
  EXPECT_TRUE(fs::is_regular_file(fs::path(image->layers[0]) / "etc/doomed"));
  struct stat info {};
  ASSERT_EQ(::lstat((fs::path(image->layers[1]) / "etc/doomed").c_str(), &info), 0);
  EXPECT_TRUE(S_ISCHR(info.st_mode));
  EXPECT_EQ(info.st_rdev, makedev(0, 0));
  EXPECT_FALSE(fs::exists(fs::path(image->layers[1]) / "etc/.wh.doomed"));
}

TEST_F(ImageStoreTest, BadStoreOptionsAreRefusedAtCreation) {
  EXPECT_THAT(ImageStore::create(io_.get_executor(), StoreOptions{.storeDir = (dir_.path() / "s").string(),
                                                                  .defaultRegistry = "http://registry.example.com"})
                  .error()
                  .message,
              HasSubstr("plain http is allowed for a loopback registry only"));
  const auto config = dir_.write("config.json", R"({"auths": {"h": {"auth": 3}}})");
  EXPECT_THAT(ImageStore::create(io_.get_executor(), StoreOptions{.storeDir = (dir_.path() / "s").string(),
                                                                  .dockerConfigPath = config.string()})
                  .error()
                  .message,
              HasSubstr("auths.h.auth: expected base64 user:password"));
  auto store = makeStore();
  auto bad = pullDocker(*store, "Bad Name");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("image name 'Bad Name'"));
}

}  // namespace
}  // namespace mantle::images
