#include "images/manifest.hpp"

#include "images/digest.hpp"
#include "mantle/common/strict_json.hpp"

namespace mantle::images {

Result<Descriptor> parseDescriptor(const Json::Value& value, const std::string& where) {
  if (!value.isObject()) return invalidArgument(where + ": expected an object");
  Descriptor out;
  out.mediaType = value.get("mediaType", "").isString() ? value.get("mediaType", "").asString() : "";
  const Json::Value& digest = value["digest"];
  if (!digest.isString() || !isSha256Digest(digest.asString())) {
    return invalidArgument(where + ".digest: expected sha256:<64 hex digits>");
  }
  out.digest = digest.asString();
  if (value.isMember("size")) {
    if (!value["size"].isIntegral() || value["size"].asInt64() < 0) {
      return invalidArgument(where + ".size: expected a non-negative integer");
    }
    out.size = value["size"].asInt64();
  }
  return out;
}

namespace {

Status readStrings(const Json::Value& object, const char* key, const std::string& where,
                   google::protobuf::RepeatedPtrField<std::string>* out) {
  const Json::Value& value = object[key];
  if (value.isNull()) return {};
  if (!value.isArray()) return invalidArgument(where + "." + key + ": expected an array of strings");
  for (const auto& item : value) {
    if (!item.isString()) return invalidArgument(where + "." + key + ": expected an array of strings");
    out->Add(item.asString());
  }
  return {};
}

}  // namespace

Result<Json::Value> parseDocument(std::string_view text, const std::string& what) {
  auto parsed = json::parseWith(Json::CharReaderBuilder(), text);
  if (!parsed.ok()) return invalidArgument(what + ": not valid JSON: " + parsed.error().message);
  if (!parsed->isObject()) return invalidArgument(what + ": expected a JSON object");
  return parsed;
}

bool isIndex(const Json::Value& document, std::string_view contentType) {
  if (contentType.starts_with(kDockerManifestList) || contentType.starts_with(kOciIndex)) return true;
  if (contentType.starts_with(kDockerManifest) || contentType.starts_with(kOciManifest)) return false;
  const std::string mediaType = document.get("mediaType", "").isString() ? document["mediaType"].asString() : "";
  if (mediaType == kDockerManifestList || mediaType == kOciIndex) return true;
  return document["manifests"].isArray() && !document.isMember("layers");
}

Result<Descriptor> pickLinuxAmd64(const Json::Value& index) {
  const Json::Value& manifests = index["manifests"];
  if (!manifests.isArray()) return invalidArgument("index: manifests: expected an array");
  std::string seen;
  for (Json::ArrayIndex i = 0; i < manifests.size(); ++i) {
    const Json::Value& platform = manifests[i]["platform"];
    const std::string os = platform.get("os", "").isString() ? platform.get("os", "").asString() : "";
    const std::string arch =
        platform.get("architecture", "").isString() ? platform.get("architecture", "").asString() : "";
    if (os == "linux" && arch == "amd64")
      return parseDescriptor(manifests[i], "index.manifests[" + std::to_string(i) + "]");
    seen += (seen.empty() ? "" : ", ") + (os.empty() && arch.empty() ? std::string("(no platform)") : os + "/" + arch);
  }
  return notFound("no linux/amd64 image in the index (it has: " + (seen.empty() ? "nothing" : seen) + ")");
}

Result<Manifest> parseManifest(const Json::Value& document) {
  if (document.get("schemaVersion", 0) != 2) {
    return invalidArgument("manifest: schemaVersion is not 2 (Docker schema 1 manifests are not supported)");
  }
  Manifest out;
  auto config = parseDescriptor(document["config"], "manifest.config");
  if (!config.ok()) return config.error();
  out.config = *config;
  const Json::Value& layers = document["layers"];
  if (!layers.isArray()) return invalidArgument("manifest.layers: expected an array");
  for (Json::ArrayIndex i = 0; i < layers.size(); ++i) {
    auto layer = parseDescriptor(layers[i], "manifest.layers[" + std::to_string(i) + "]");
    if (!layer.ok()) return layer.error();
    out.layers.push_back(*layer);
  }
  return out;
}

Result<ImageConfigDocument> parseImageConfig(const Json::Value& document) {
  ImageConfigDocument out;
  const Json::Value& config = document["config"];
  if (!config.isNull()) {
    if (!config.isObject()) return invalidArgument("image config.config: expected an object");
    for (auto [key, field] :
         {std::pair{"Entrypoint", out.runtime.mutable_entrypoint()}, std::pair{"Cmd", out.runtime.mutable_cmd()},
          std::pair{"Env", out.runtime.mutable_env()}}) {
      if (Status read = readStrings(config, key, "image config.config", field); !read.ok()) return read.error();
    }
    if (config["WorkingDir"].isString() && !config["WorkingDir"].asString().empty()) {
      out.runtime.set_working_dir(config["WorkingDir"].asString());
    }
    if (config["User"].isString() && !config["User"].asString().empty()) {
      out.runtime.set_user(config["User"].asString());
    }
  }
  const Json::Value& diffIds = document["rootfs"]["diff_ids"];
  if (diffIds.isArray()) {
    for (const auto& id : diffIds) {
      if (!id.isString() || !isSha256Digest(id.asString())) {
        return invalidArgument("image config.rootfs.diff_ids: expected sha256 digests");
      }
      out.diffIds.push_back(id.asString());
    }
  }
  return out;
}

}  // namespace mantle::images
