#include "images/layer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

namespace mantle::images {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct DiskDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};

// The entry's path relative to the layer root: leading "/" and "./" gone,
// "." components dropped; empty for the root itself. Refuses "..".
Result<std::string> relativePath(std::string_view path) {
  std::string out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(start, end - start);
    if (part == "..") return invalidArgument("entry '" + std::string(path) + "' leads outside the layer (..)");
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    start = end + 1;
  }
  return out;
}

// Refuses a parent directory that is (or goes through) a symlink inside the
// layer: a whiteout there would land outside it.
Status checkNoSymlinks(const fs::path& root, const std::string& relativeParent) {
  fs::path at = root;
  for (const auto& part : fs::path(relativeParent)) {
    at /= part;
    struct stat info {};
    if (::lstat(at.c_str(), &info) != 0) return {};  // not there yet: made below as a directory
    if (S_ISLNK(info.st_mode)) return invalidArgument("whiteout under the symlink '" + at.string() + "'");
  }
  return {};
}

Status applyWhiteout(const fs::path& root, const std::string& relative) {
  const fs::path path(relative);
  const std::string parent = path.parent_path().string();
  const std::string base = path.filename().string();
  if (Status checked = checkNoSymlinks(root, parent); !checked.ok()) return checked;
  const fs::path directory = root / parent;
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (ec) return internalError("cannot create " + directory.string() + ": " + ec.message());
  if (base == kOpaqueMarker) {
    if (::setxattr(directory.c_str(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
      return internalError("cannot mark " + directory.string() +
                           " opaque (trusted.overlay.opaque): " + std::strerror(errno));
    }
    return {};
  }
  const fs::path target = directory / base.substr(kWhiteoutPrefix.size());
  fs::remove_all(target, ec);
  if (::mknod(target.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) {
    return internalError("cannot make the whiteout device " + target.string() + ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace

Status extractArchive(const std::string& archivePath, const std::string& directory, Whiteouts whiteouts) {
  const auto fail = [&](const std::string& what) { return internalError(archivePath + ": " + what); };
  std::unique_ptr<archive, ArchiveDeleter> in(archive_read_new());
  archive_read_support_filter_all(in.get());
  archive_read_support_format_tar(in.get());
  archive_read_support_format_gnutar(in.get());
  if (archive_read_open_filename(in.get(), archivePath.c_str(), 1 << 16) != ARCHIVE_OK) {
    return fail(std::string("cannot open: ") + archive_error_string(in.get()));
  }
  std::unique_ptr<archive, DiskDeleter> out(archive_write_disk_new());
  int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
              ARCHIVE_EXTRACT_SECURE_SYMLINKS;
  if (::geteuid() == 0) flags |= ARCHIVE_EXTRACT_OWNER;
  archive_write_disk_set_options(out.get(), flags);
  archive_write_disk_set_standard_lookup(out.get());
  const fs::path root(directory);
  for (;;) {
    archive_entry* entry = nullptr;
    const int read = archive_read_next_header(in.get(), &entry);
    if (read == ARCHIVE_EOF) break;
    if (read < ARCHIVE_WARN) return fail(std::string("unreadable: ") + archive_error_string(in.get()));
    const std::string name = archive_entry_pathname(entry) != nullptr ? archive_entry_pathname(entry) : "";
    auto relative = relativePath(name);
    if (!relative.ok()) return fail(relative.error().message);
    if (relative->empty()) continue;  // the root directory itself
    const std::string base = fs::path(*relative).filename().string();
    if (whiteouts == Whiteouts::kOverlay && base.starts_with(kWhiteoutPrefix)) {
      if (Status applied = applyWhiteout(root, *relative); !applied.ok()) return fail(applied.error().message);
      continue;
    }
    archive_entry_set_pathname(entry, (root / *relative).c_str());
    if (const char* link = archive_entry_hardlink(entry); link != nullptr) {
      auto target = relativePath(link);
      if (!target.ok()) return fail(target.error().message);
      archive_entry_set_hardlink(entry, (root / *target).c_str());
    }
    if (archive_write_header(out.get(), entry) < ARCHIVE_WARN) {
      return fail("entry '" + name + "': " + archive_error_string(out.get()));
    }
    if (archive_entry_size(entry) > 0) {
      const void* block = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      for (;;) {
        const int r = archive_read_data_block(in.get(), &block, &size, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) return fail("entry '" + name + "': " + archive_error_string(in.get()));
        if (archive_write_data_block(out.get(), block, size, offset) < ARCHIVE_WARN) {
          return fail("entry '" + name + "': " + archive_error_string(out.get()));
        }
      }
    }
    if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN) {
      return fail("entry '" + name + "': " + archive_error_string(out.get()));
    }
  }
  if (archive_write_close(out.get()) < ARCHIVE_WARN) return fail(archive_error_string(out.get()));
  return {};
}

}  // namespace mantle::images
