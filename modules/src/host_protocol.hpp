// The wire between a daemon's module registry and mantle-module-host: framed
// messages over a Unix stream socket. A frame is a fixed header followed by
// `auxSize` bytes of text and `bodySize` bytes of body. The body of a call and
// of its result is exactly the encoded request and response the in-process
// function table carries; methods are numbered by their position in the kind's
// method list (kinds.h), so there is no second list of calls.
//
//   daemon -> host   kCreate  instance=id, aux=module '\0' instance name, body=ModuleConfig
//                    kCall    instance=id, method=index, body=request
//                    kDestroy instance=id
//   host -> daemon   kResult  id of the frame answered, status, aux=error text, body=response
//                    kEvent   instance=id, body=ModuleEvent (mantle_host_api.notify)
//
// Both ends run on one machine: integers are in host byte order.
#pragma once

#include <cstdint>
#include <string>

#include "mantle/result.hpp"

namespace mantle::modules::host_protocol {

enum class FrameType : std::uint32_t { kCreate = 1, kCall = 2, kDestroy = 3, kResult = 4, kEvent = 5 };

struct FrameHeader {
  std::uint32_t type = 0;
  std::uint32_t instance = 0;
  std::uint32_t method = 0;
  std::int32_t status = 0;  // mantle_status of a kResult
  std::uint64_t id = 0;     // of a request; a kResult carries the id it answers
  std::uint32_t auxSize = 0;
  std::uint32_t bodySize = 0;
};

struct Frame {
  FrameHeader header;
  std::string aux;
  std::string body;

  FrameType type() const { return static_cast<FrameType>(header.type); }
};

// Frames larger than this are refused (a corrupt stream, not a message).
inline constexpr std::uint32_t kMaxFramePart = 1u << 30;

// Writes the whole frame (retrying short writes and EINTR). Not thread-safe:
// callers serialise writes to one socket.
Status writeFrame(int fd, FrameType type, std::uint32_t instance, std::uint32_t method, std::int32_t status,
                  std::uint64_t id, std::string_view aux, std::string_view body);

// Reads one frame. kUnavailable with "closed" when the peer closed the socket
// between frames; other errors for a broken stream.
Result<Frame> readFrame(int fd);

}  // namespace mantle::modules::host_protocol
