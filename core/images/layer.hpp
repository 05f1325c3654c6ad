// Extracting image layers (tar, optionally gzip/zstd/xz/bzip2 compressed)
// with libarchive.
#pragma once

#include <string>

#include "mantle/result.hpp"

namespace mantle::images {

enum class Whiteouts {
  kKeep,     // extract `.wh.*` entries as plain files (archives that are not layers)
  kOverlay,  // the overlayfs form described in store.hpp
};

// Extracts `archive` into the existing directory `directory`. Entries with
// `..` components or that lead through a symlink fail the extraction, as do
// unreadable or truncated archives; errors name the archive and the entry.
Status extractArchive(const std::string& archive, const std::string& directory, Whiteouts whiteouts);

}  // namespace mantle::images
