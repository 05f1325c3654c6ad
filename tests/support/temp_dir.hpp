#pragma once

#include <filesystem>
#include <string>

namespace mantle::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it
// when the object goes away, whether the test passed or not.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes `content` to path()/name (creating parent directories) and returns its path.
  std::filesystem::path write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

// The whole content of the file at `path`; "" when it cannot be read.
std::string readText(const std::filesystem::path& path);

}  // namespace mantle::testing
