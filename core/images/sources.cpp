#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "images/digest.hpp"
#include "images/layer.hpp"
#include "images/source.hpp"
#include "mantle/common/strict_json.hpp"

namespace mantle::images {

namespace fs = std::filesystem;

namespace {

Result<std::string> readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("cannot read " + path.string() + ": " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Status checkDigest(std::string_view content, const std::string& expected, const std::string& what) {
  const std::string actual = sha256Digest(content);
  if (actual != expected) {
    return failedPrecondition(what + ": digest mismatch: expected " + expected + ", content hashes to " + actual);
  }
  return {};
}

class RegistrySource : public ImageSource {
 public:
  RegistrySource(RegistryEndpoint endpoint, DockerName name, std::string basicAuth, RegistryOptions options)
      : name_(std::move(name)),
        client_(std::move(endpoint), name_.repository, std::move(basicAuth), std::move(options)) {}

  Result<ResolvedImage> resolve() override {
    auto document = client_.fetch("manifests", name_.reference(), authorization_);
    if (!document.ok()) return document.error().withContext("manifest " + name_.reference());
    std::string digest = sha256Digest(document->body);
    const std::string expected = name_.digest.empty() ? document->digestHeader : name_.digest;
    if (!expected.empty() && expected != digest) {
      return failedPrecondition("manifest " + name_.reference() + ": digest mismatch: expected " + expected +
                                ", content hashes to " + digest);
    }
    auto parsed = parseDocument(document->body, "manifest " + name_.reference());
    if (!parsed.ok()) return parsed.error();
    if (isIndex(*parsed, document->contentType)) {
      auto entry = pickLinuxAmd64(*parsed);
      if (!entry.ok()) return entry.error();
      document = client_.fetch("manifests", entry->digest, authorization_);
      if (!document.ok()) return document.error().withContext("manifest " + entry->digest);
      if (Status ok = checkDigest(document->body, entry->digest, "manifest " + entry->digest); !ok.ok()) {
        return ok.error();
      }
      digest = entry->digest;
      parsed = parseDocument(document->body, "manifest " + digest);
      if (!parsed.ok()) return parsed.error();
    }
    auto manifest = parseManifest(*parsed);
    if (!manifest.ok()) return manifest.error();
    auto config = client_.fetch("blobs", manifest->config.digest, authorization_);
    if (!config.ok()) return config.error().withContext("config " + manifest->config.digest);
    if (Status ok = checkDigest(config->body, manifest->config.digest, "config"); !ok.ok()) return ok.error();
    auto configDocument = parseDocument(config->body, "config " + manifest->config.digest);
    if (!configDocument.ok()) return configDocument.error();
    auto imageConfig = parseImageConfig(*configDocument);
    if (!imageConfig.ok()) return imageConfig.error();
    return ResolvedImage{digest, std::move(*imageConfig), manifest->layers};
  }

  Result<std::string> fetchLayer(const Descriptor& layer, const std::string& downloadPath) override {
    if (Status done = client_.download(layer, downloadPath, authorization_); !done.ok()) return done.error();
    return downloadPath;
  }

 private:
  DockerName name_;
  RegistryClient client_;
  std::string authorization_;  // set by resolve, read by the layer downloads after it
};

// A relative path inside an unpacked archive; refuses absolute paths and "..".
Result<fs::path> inside(const fs::path& root, const Json::Value& value, const std::string& what) {
  if (!value.isString()) return invalidArgument(what + ": expected a relative path");
  const fs::path relative(value.asString());
  if (relative.is_absolute()) return invalidArgument(what + ": '" + value.asString() + "' is absolute");
  for (const auto& part : relative) {
    if (part == "..") return invalidArgument(what + ": '" + value.asString() + "' leads outside the archive");
  }
  return root / relative;
}

class DockerArchiveSource : public ImageSource {
 public:
  DockerArchiveSource(std::string directory, DockerName name, std::string scratch)
      : directory_(std::move(directory)), name_(std::move(name)), scratch_(std::move(scratch)) {}

  Result<ResolvedImage> resolve() override {
    if (!name_.digest.empty()) {
      return invalidArgument("a local image archive is named by tag, not by digest");
    }
    const std::string tarball = directory_ + "/" + name_.repository + ":" + name_.tag + ".tar";
    if (!fs::is_regular_file(tarball)) return notFound("no image archive " + tarball);
    if (Status unpacked = extractArchive(tarball, scratch_, Whiteouts::kKeep); !unpacked.ok()) {
      return unpacked.error();
    }
    auto text = readFile(fs::path(scratch_) / "manifest.json");
    if (!text.ok()) return invalidArgument(tarball + ": no manifest.json (not a docker save / docker-archive tarball)");
    auto manifest = json::parseWith(Json::CharReaderBuilder(), *text);
    if (!manifest.ok() || !manifest->isArray() || manifest->empty()) {
      return invalidArgument(tarball + ": manifest.json: expected a non-empty array");
    }
    const std::string wanted = name_.repository + ":" + name_.tag;
    const Json::Value* entry = manifest->size() == 1 ? &(*manifest)[0] : nullptr;
    for (const auto& candidate : *manifest) {
      for (const auto& tag : candidate["RepoTags"]) {
        if (tag.isString() && (tag.asString() == wanted || tag.asString().ends_with("/" + wanted))) entry = &candidate;
      }
    }
    if (entry == nullptr) return notFound(tarball + ": manifest.json has no image tagged " + wanted);
    auto configPath = inside(scratch_, (*entry)["Config"], tarball + ": manifest.json Config");
    if (!configPath.ok()) return configPath.error();
    auto configText = readFile(*configPath);
    if (!configText.ok()) return configText.error().withContext(tarball);
    auto configDocument = parseDocument(*configText, tarball + ": config");
    if (!configDocument.ok()) return configDocument.error();
    auto config = parseImageConfig(*configDocument);
    if (!config.ok()) return config.error().withContext(tarball);
    const Json::Value& layers = (*entry)["Layers"];
    if (!layers.isArray() || layers.size() != config->diffIds.size()) {
      return invalidArgument(tarball + ": manifest.json Layers does not match the config's rootfs.diff_ids");
    }
    ResolvedImage out{sha256Digest(*configText), std::move(*config), {}};
    for (Json::ArrayIndex i = 0; i < layers.size(); ++i) {
      auto path = inside(scratch_, layers[i], tarball + ": manifest.json Layers[" + std::to_string(i) + "]");
      if (!path.ok()) return path.error();
      const std::string& digest = out.config.diffIds[i];
      files_[digest] = path->string();
      out.layers.push_back(Descriptor{"application/vnd.docker.image.rootfs.diff.tar", digest, -1});
    }
    return out;
  }

  Result<std::string> fetchLayer(const Descriptor& layer, const std::string&) override {
    const std::string& file = files_.at(layer.digest);
    if (Status verified = verifyFile(file, layer.digest); !verified.ok()) {
      return verified.error().withContext("layer " + layer.digest);
    }
    return file;
  }

 private:
  std::string directory_;
  DockerName name_;
  std::string scratch_;
  std::map<std::string, std::string> files_;  // layer digest -> unpacked file; written by resolve only
};

class OciLayoutSource : public ImageSource {
 public:
  explicit OciLayoutSource(OciLayoutName name) : name_(std::move(name)) {}

  Result<ResolvedImage> resolve() override {
    const fs::path root(name_.directory);
    auto layout = readFile(root / "oci-layout");
    if (!layout.ok()) return notFound(name_.directory + " is not an OCI image layout (no oci-layout file)");
    auto indexText = readFile(root / "index.json");
    if (!indexText.ok()) return notFound(name_.directory + ": no index.json");
    auto index = parseDocument(*indexText, name_.directory + "/index.json");
    if (!index.ok()) return index.error();
    const Json::Value& manifests = (*index)["manifests"];
    if (!manifests.isArray()) return invalidArgument(name_.directory + "/index.json: manifests: expected an array");
    const Json::Value* entry = nullptr;
    std::string tags;
    for (const auto& candidate : manifests) {
      const Json::Value& ref = candidate["annotations"]["org.opencontainers.image.ref.name"];
      if (ref.isString()) {
        tags += (tags.empty() ? "" : ", ") + ref.asString();
        if (ref.asString() == name_.tag) entry = &candidate;
      }
    }
    if (entry == nullptr && manifests.size() == 1 && tags.empty()) entry = &manifests[0];
    if (entry == nullptr) {
      return notFound(name_.directory + "/index.json has no image tagged '" + name_.tag +
                      "' (tags: " + (tags.empty() ? "none" : tags) + ")");
    }
    auto descriptor = parseDescriptor(*entry, name_.directory + "/index.json entry");
    if (!descriptor.ok()) return descriptor.error();
    auto document = readBlob(descriptor->digest);
    if (!document.ok()) return document.error();
    auto parsed = parseDocument(*document, "manifest " + descriptor->digest);
    if (!parsed.ok()) return parsed.error();
    std::string digest = descriptor->digest;
    if (isIndex(*parsed, descriptor->mediaType)) {
      auto chosen = pickLinuxAmd64(*parsed);
      if (!chosen.ok()) return chosen.error();
      document = readBlob(chosen->digest);
      if (!document.ok()) return document.error();
      parsed = parseDocument(*document, "manifest " + chosen->digest);
      if (!parsed.ok()) return parsed.error();
      digest = chosen->digest;
    }
    auto manifest = parseManifest(*parsed);
    if (!manifest.ok()) return manifest.error();
    auto configText = readBlob(manifest->config.digest);
    if (!configText.ok()) return configText.error();
    auto configDocument = parseDocument(*configText, "config " + manifest->config.digest);
    if (!configDocument.ok()) return configDocument.error();
    auto config = parseImageConfig(*configDocument);
    if (!config.ok()) return config.error();
    return ResolvedImage{digest, std::move(*config), manifest->layers};
  }

  Result<std::string> fetchLayer(const Descriptor& layer, const std::string&) override {
    const std::string file = blobPath(layer.digest);
    if (Status verified = verifyFile(file, layer.digest); !verified.ok()) {
      return verified.error().withContext("layer " + layer.digest);
    }
    return file;
  }

 private:
  std::string blobPath(const std::string& digest) const {
    return name_.directory + "/blobs/sha256/" + digestHex(digest);
  }

  Result<std::string> readBlob(const std::string& digest) {
    auto text = readFile(blobPath(digest));
    if (!text.ok()) return notFound(name_.directory + ": blob " + digest + " is missing");
    if (Status ok = checkDigest(*text, digest, "blob " + digest); !ok.ok()) return ok.error();
    return text;
  }

  OciLayoutName name_;
};

}  // namespace

std::unique_ptr<ImageSource> registrySource(RegistryEndpoint endpoint, DockerName name, std::string basicAuth,
                                            RegistryOptions options) {
  return std::make_unique<RegistrySource>(std::move(endpoint), std::move(name), std::move(basicAuth),
                                          std::move(options));
}

std::unique_ptr<ImageSource> dockerArchiveSource(std::string directory, DockerName name, std::string scratch) {
  return std::make_unique<DockerArchiveSource>(std::move(directory), std::move(name), std::move(scratch));
}

std::unique_ptr<ImageSource> ociLayoutSource(OciLayoutName name) {
  return std::make_unique<OciLayoutSource>(std::move(name));
}

}  // namespace mantle::images
