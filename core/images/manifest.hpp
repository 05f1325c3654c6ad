// Reading Docker and OCI image documents: manifests (Docker v2 schema 2,
// OCI), indexes (OCI index, Docker manifest list) and image configs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <json/value.h>

#include "mantle/module/v1/isolator.pb.h"
#include "mantle/result.hpp"

namespace mantle::images {

inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";

struct Descriptor {
  std::string mediaType;
  std::string digest;  // verified to be sha256:<hex>
  std::int64_t size = -1;
};

struct Manifest {
  Descriptor config;
  std::vector<Descriptor> layers;  // lowest first
};

// A descriptor object ({mediaType, digest, size}); errors name `where`.
Result<Descriptor> parseDescriptor(const Json::Value& value, const std::string& where);

// JSON from a registry or an archive (not operator input: lenient reader,
// depth and UTF-8 still checked). Errors name `what`.
Result<Json::Value> parseDocument(std::string_view text, const std::string& what);

// Whether the document is an index / manifest list: by `contentType` when it
// names one, else by the document's own mediaType or a "manifests" array.
bool isIndex(const Json::Value& document, std::string_view contentType);

// The linux/amd64 entry of an index; errors list the platforms it has.
Result<Descriptor> pickLinuxAmd64(const Json::Value& index);

Result<Manifest> parseManifest(const Json::Value& document);

struct ImageConfigDocument {
  mantle::module::v1::ImageConfig runtime;
  std::vector<std::string> diffIds;  // rootfs.diff_ids: digests of the uncompressed layers
};

Result<ImageConfigDocument> parseImageConfig(const Json::Value& document);

}  // namespace mantle::images
