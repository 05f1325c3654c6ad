#include "images/gc.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "mantle/common/strict_json.hpp"

namespace mantle::images {

Result<ImageGcConfig> parseImageGcConfig(const std::string& value) {
  std::string text = value;
  std::string source = "--image_gc_config";
  if (std::string path = value.starts_with("file://") ? value.substr(7) : value; path.starts_with("/")) {
    std::ifstream in(path);
    if (!in) return invalidArgument(source + ": cannot read " + path + ": " + std::strerror(errno));
    std::stringstream content;
    content << in.rdbuf();
    text = content.str();
    source += " " + path;
  }
  auto root = json::parseStrict(text, source);
  if (!root.ok()) return root.error();
  if (!root->isObject()) return invalidArgument(source + ": expected a JSON object");
  ImageGcConfig out;
  for (const auto& key : root->getMemberNames()) {
    const Json::Value& field = (*root)[key];
    if (key == "image_disk_headroom") {
      if (!field.isNumeric() || field.asDouble() < 0 || field.asDouble() > 1) {
        return invalidArgument(source + ": image_disk_headroom: expected a number in [0, 1]");
      }
      out.diskHeadroom = field.asDouble();
    } else if (key == "image_disk_watch_interval") {
      if (!field.isObject() || !field["nanoseconds"].isIntegral() || field["nanoseconds"].asInt64() <= 0 ||
          field.size() != 1) {
        return invalidArgument(source + ": image_disk_watch_interval: expected {\"nanoseconds\": <positive integer>}");
      }
      out.watchInterval = std::chrono::nanoseconds(field["nanoseconds"].asInt64());
    } else if (key == "excluded_images") {
      if (!field.isArray()) return invalidArgument(source + ": excluded_images: expected an array");
      for (Json::ArrayIndex i = 0; i < field.size(); ++i) {
        const std::string where = source + ": excluded_images[" + std::to_string(i) + "]";
        const Json::Value& image = field[i];
        const std::string type = image["type"].isString() ? image["type"].asString() : "";
        if (type != "DOCKER" && type != "OCI") return invalidArgument(where + ".type: expected DOCKER or OCI");
        if (!image["docker"]["name"].isString() || image["docker"]["name"].asString().empty()) {
          return invalidArgument(where + ".docker.name: expected the image's name");
        }
        out.excludedImages.push_back({type == "OCI" ? ImageReference::Type::kOci : ImageReference::Type::kDocker,
                                      image["docker"]["name"].asString()});
      }
    } else {
      return invalidArgument(source + ": unknown field '" + key + "'");
    }
  }
  return out;
}

}  // namespace mantle::images
