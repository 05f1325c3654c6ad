#include "images/reference.hpp"

#include <vector>

#include "images/digest.hpp"

namespace mantle::images {

namespace {

bool validComponent(std::string_view component) {
  if (component.empty()) return false;
  for (char c : component) {
    const bool lowerAlnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!lowerAlnum && c != '.' && c != '_' && c != '-') return false;
  }
  const char first = component.front();
  const char last = component.back();
  return first != '.' && first != '_' && first != '-' && last != '.' && last != '_' && last != '-';
}

bool validTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128 || tag.front() == '.' || tag.front() == '-') return false;
  for (char c : tag) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

}  // namespace

std::string DockerName::text() const {
  std::string out = registry.empty() ? repository : registry + "/" + repository;
  return digest.empty() ? out + ":" + tag : out + "@" + digest;
}

Result<DockerName> parseDockerName(std::string_view name, bool libraryPrefix) {
  const std::string quoted = "image name '" + std::string(name) + "'";
  DockerName out;
  std::string_view rest = name;
  if (const size_t at = rest.find('@'); at != std::string_view::npos) {
    out.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (!isSha256Digest(out.digest)) {
      return invalidArgument(quoted + ": the digest is not sha256:<64 lower-case hex digits>");
    }
  }
  const size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    const std::string_view first = rest.substr(0, slash);
    if (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
        first == "localhost") {
      out.registry = std::string(first);
      rest = rest.substr(slash + 1);
    }
  }
  const size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos) {
    if (!out.digest.empty()) return invalidArgument(quoted + ": both a tag and a digest");
    out.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!validTag(out.tag)) return invalidArgument(quoted + ": invalid tag '" + out.tag + "'");
  } else if (out.digest.empty()) {
    out.tag = "latest";
  }
  if (rest.empty()) return invalidArgument(quoted + ": no repository");
  size_t components = 0;
  for (size_t start = 0;;) {
    const size_t end = rest.find('/', start);
    const std::string_view component = rest.substr(start, end == std::string_view::npos ? end : end - start);
    if (!validComponent(component)) {
      return invalidArgument(quoted + ": invalid repository component '" + std::string(component) +
                             "' (lower-case letters, digits, '.', '_' and '-')");
    }
    ++components;
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  out.repository = std::string(rest);
  if (libraryPrefix && out.registry.empty() && components == 1) out.repository = "library/" + out.repository;
  return out;
}

Result<OciLayoutName> parseOciLayoutName(std::string_view name) {
  const std::string quoted = "OCI image name '" + std::string(name) + "'";
  if (name.empty() || name.front() != '/') {
    return invalidArgument(quoted + ": expected <absolute layout directory>[:<tag>]");
  }
  OciLayoutName out;
  const size_t colon = name.rfind(':');
  if (colon != std::string_view::npos && name.find('/', colon) == std::string_view::npos) {
    out.directory = std::string(name.substr(0, colon));
    out.tag = std::string(name.substr(colon + 1));
    if (out.tag.empty()) return invalidArgument(quoted + ": empty tag");
  } else {
    out.directory = std::string(name);
    out.tag = "latest";
  }
  while (out.directory.size() > 1 && out.directory.back() == '/') out.directory.pop_back();
  return out;
}

}  // namespace mantle::images
