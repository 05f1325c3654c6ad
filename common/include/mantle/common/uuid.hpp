// Random (version 4) UUIDs: the 16 bytes Mesos' protobuf fields carry
// (status update and operation uuids) and the canonical text form used for
// ids (master id, stream ids, container ids).
#pragma once

#include <string>

namespace mantle::uuid {

// 16 random bytes with the version-4 and variant bits set. Each thread draws
// from its own generator: safe to call from any thread without locks.
std::string randomBytes();

// The canonical lower-case text of 16 bytes: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".
// Other lengths are written as hex with the dashes at the same offsets.
std::string toText(const std::string& bytes);

// toText(randomBytes()).
std::string randomText();

}  // namespace mantle::uuid
