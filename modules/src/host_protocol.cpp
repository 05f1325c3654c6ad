#include "host_protocol.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mantle::modules::host_protocol {

namespace {

// false with errno set, or errno 0 at end of stream before the first byte.
bool readAll(int fd, char* data, std::size_t size, bool* eofAtStart) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, data + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      if (eofAtStart != nullptr) *eofAtStart = done == 0;
      errno = 0;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

Status writeFrame(int fd, FrameType type, std::uint32_t instance, std::uint32_t method, std::int32_t status,
                  std::uint64_t id, std::string_view aux, std::string_view body) {
  FrameHeader header;
  header.type = static_cast<std::uint32_t>(type);
  header.instance = instance;
  header.method = method;
  header.status = status;
  header.id = id;
  header.auxSize = static_cast<std::uint32_t>(aux.size());
  header.bodySize = static_cast<std::uint32_t>(body.size());
  iovec parts[3] = {{&header, sizeof header},
                    {const_cast<char*>(aux.data()), aux.size()},
                    {const_cast<char*>(body.data()), body.size()}};
  iovec* next = parts;
  int count = 3;
  while (count > 0) {
    msghdr message{};
    message.msg_iov = next;
    message.msg_iovlen = static_cast<std::size_t>(count);
    ssize_t n = ::sendmsg(fd, &message, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error(StatusCode::kUnavailable, std::string("cannot write to the module host socket: ") + strerror(errno));
    }
    auto left = static_cast<std::size_t>(n);
    while (count > 0 && left >= next->iov_len) {
      left -= next->iov_len;
      ++next;
      --count;
    }
    if (count > 0) {
      next->iov_base = static_cast<char*>(next->iov_base) + left;
      next->iov_len -= left;
    }
  }
  return {};
}

Result<Frame> readFrame(int fd) {
  Frame frame;
  bool eofAtStart = false;
  if (!readAll(fd, reinterpret_cast<char*>(&frame.header), sizeof frame.header, &eofAtStart)) {
    if (errno == 0 && eofAtStart) return Error(StatusCode::kUnavailable, "closed");
    return Error(StatusCode::kUnavailable, std::string("the module host socket broke: ") +
                                               (errno == 0 ? "end of stream inside a frame" : strerror(errno)));
  }
  if (frame.header.auxSize > kMaxFramePart || frame.header.bodySize > kMaxFramePart) {
    return Error(StatusCode::kInternal, "the module host socket carries a frame of " +
                                            std::to_string(frame.header.auxSize) + " + " +
                                            std::to_string(frame.header.bodySize) + " bytes: a corrupt stream");
  }
  frame.aux.resize(frame.header.auxSize);
  frame.body.resize(frame.header.bodySize);
  if (!readAll(fd, frame.aux.data(), frame.aux.size(), nullptr) ||
      !readAll(fd, frame.body.data(), frame.body.size(), nullptr)) {
    return Error(StatusCode::kUnavailable, std::string("the module host socket broke: ") +
                                               (errno == 0 ? "end of stream inside a frame" : strerror(errno)));
  }
  return frame;
}

}  // namespace mantle::modules::host_protocol
