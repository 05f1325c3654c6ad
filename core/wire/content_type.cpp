#include "wire/content_type.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <vector>

#include <glog/logging.h>

#include "wire/json.hpp"

namespace mantle::wire {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool isBlank(std::optional<std::string_view> header) {
  return !header.has_value() || trim(*header).empty();
}

// "type/subtype" of a Content-Type or media range, lower-cased, without
// parameters.
std::string essence(std::string_view value) {
  std::size_t semicolon = value.find(';');
  return lower(trim(value.substr(0, semicolon)));
}

struct MediaRange {
  std::string type;
  std::string subtype;
  double quality = 1.0;
};

// The well-formed ranges of an Accept value; malformed ones are skipped.
std::vector<MediaRange> parseAccept(std::string_view accept) {
  std::vector<MediaRange> ranges;
  while (!accept.empty()) {
    std::size_t comma = accept.find(',');
    std::string_view item = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);

    std::size_t semicolon = item.find(';');
    std::string range = lower(trim(item.substr(0, semicolon)));
    std::size_t slash = range.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == range.size()) {
      continue;
    }
    MediaRange parsed{range.substr(0, slash), range.substr(slash + 1), 1.0};
    if (parsed.type == "*" && parsed.subtype != "*") {
      continue;
    }
    bool valid = true;
    std::string_view params = semicolon == std::string_view::npos ? std::string_view() : item.substr(semicolon + 1);
    while (!params.empty()) {
      std::size_t next = params.find(';');
      std::string_view param = params.substr(0, next);
      params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
      std::size_t equals = param.find('=');
      if (equals == std::string_view::npos || lower(trim(param.substr(0, equals))) != "q") {
        continue;  // other parameters do not affect matching here
      }
      std::string_view value = trim(param.substr(equals + 1));
      double quality = -1;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), quality);
      // !(0 <= q <= 1) also refuses "q=nan", which from_chars reads.
      if (ec != std::errc() || end != value.data() + value.size() || !(quality >= 0 && quality <= 1)) {
        valid = false;
        break;
      }
      parsed.quality = quality;
    }
    if (valid) {
      ranges.push_back(std::move(parsed));
    }
  }
  return ranges;
}

// The encoding an Accept-like header picks; nullopt when neither is
// acceptable.
std::optional<MediaType> pick(std::optional<std::string_view> accept, MediaType preferred) {
  if (isBlank(accept)) {
    return preferred;
  }
  double json = acceptQuality(accept, kApplicationJson);
  double protobuf = acceptQuality(accept, kApplicationProtobuf);
  if (json <= 0 && protobuf <= 0) {
    return std::nullopt;
  }
  if (json == protobuf) {
    return preferred;
  }
  return json > protobuf ? MediaType::kJson : MediaType::kProtobuf;
}

}  // namespace

std::string_view mediaTypeName(MediaType type) {
  switch (type) {
    case MediaType::kJson: return kApplicationJson;
    case MediaType::kProtobuf: return kApplicationProtobuf;
  }
  LOG(FATAL) << "unknown MediaType " << static_cast<int>(type);
  return {};
}

std::optional<MediaType> parseMediaType(std::string_view contentType) {
  std::string type = essence(contentType);
  if (type == kApplicationJson) return MediaType::kJson;
  if (type == kApplicationProtobuf) return MediaType::kProtobuf;
  return std::nullopt;
}

double acceptQuality(std::optional<std::string_view> accept, std::string_view mediaType) {
  if (isBlank(accept)) {
    return 1.0;
  }
  std::string wanted = lower(mediaType);
  std::size_t slash = wanted.find('/');
  CHECK(slash != std::string::npos) << "not a media type: " << mediaType;
  std::string type = wanted.substr(0, slash);
  std::string subtype = wanted.substr(slash + 1);

  int bestSpecificity = -1;
  double quality = 0;
  for (const MediaRange& range : parseAccept(*accept)) {
    int specificity = -1;
    if (range.type == type && range.subtype == subtype) {
      specificity = 2;
    } else if (range.type == type && range.subtype == "*") {
      specificity = 1;
    } else if (range.type == "*" && range.subtype == "*") {
      specificity = 0;
    }
    if (specificity > bestSpecificity) {
      bestSpecificity = specificity;
      quality = range.quality;
    }
  }
  return quality;
}

std::string_view ResponseFormat::contentType() const {
  return framing == ResponseFraming::kRecordIO ? kApplicationRecordIO : mediaTypeName(message);
}

std::optional<std::string_view> ResponseFormat::messageContentType() const {
  if (framing == ResponseFraming::kRecordIO) {
    return mediaTypeName(message);
  }
  return std::nullopt;
}

HttpResult<RequestFormat> negotiateRequest(const RequestHeaders& headers, bool allowRecordIO) {
  if (isBlank(headers.contentType)) {
    return HttpError{400, "Expecting 'Content-Type' to be present"};
  }
  const std::string type = essence(*headers.contentType);
  if (type == kApplicationRecordIO) {
    if (!allowRecordIO) {
      return HttpError{415, "Expecting 'Content-Type' of application/json or application/x-protobuf"};
    }
    if (isBlank(headers.messageContentType)) {
      return HttpError{400, "Expecting 'Message-Content-Type' to be present"};
    }
    std::optional<MediaType> message = parseMediaType(*headers.messageContentType);
    if (!message) {
      return HttpError{415, "Expecting 'Message-Content-Type' of application/json or application/x-protobuf"};
    }
    return RequestFormat{*message, true};
  }
  std::optional<MediaType> message = parseMediaType(type);
  if (!message) {
    return HttpError{415, "Expecting 'Content-Type' of application/json or application/x-protobuf"};
  }
  if (headers.messageContentType.has_value()) {
    return HttpError{415, "Expecting 'Message-Content-Type' to be set only for application/recordio requests"};
  }
  return RequestFormat{*message, false};
}

HttpResult<ResponseFormat> negotiateResponse(const RequestHeaders& headers, const RequestFormat& request,
                                             ResponseFraming framing) {
  if (framing == ResponseFraming::kRecordIO) {
    if (acceptQuality(headers.accept, kApplicationRecordIO) <= 0) {
      return HttpError{406, "Expecting 'Accept' to allow application/recordio"};
    }
    std::optional<MediaType> message = pick(headers.messageAccept, request.message);
    if (!message) {
      return HttpError{406, "Expecting 'Message-Accept' to allow application/json or application/x-protobuf"};
    }
    return ResponseFormat{*message, framing};
  }
  if (headers.messageAccept.has_value()) {
    return HttpError{406, "Expecting 'Message-Accept' to be set only for application/recordio responses"};
  }
  std::optional<MediaType> message = pick(headers.accept, request.message);
  if (!message) {
    return HttpError{406, "Expecting 'Accept' to allow application/json or application/x-protobuf"};
  }
  return ResponseFormat{*message, framing};
}

std::string encode(const google::protobuf::Message& message, MediaType type) {
  switch (type) {
    case MediaType::kJson: return toJson(message);
    case MediaType::kProtobuf: return message.SerializePartialAsString();
  }
  LOG(FATAL) << "unknown MediaType " << static_cast<int>(type);
  return {};
}

Status decode(std::string_view body, MediaType type, google::protobuf::Message* message) {
  CHECK(message != nullptr);
  switch (type) {
    case MediaType::kJson: return fromJson(body, message);
    case MediaType::kProtobuf:
      message->Clear();
      if (body.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
        return invalidArgument("body too large for a " + message->GetDescriptor()->full_name() + " protobuf");
      }
      if (!message->ParsePartialFromArray(body.data(), static_cast<int>(body.size()))) {
        return invalidArgument("failed to parse body into " + message->GetDescriptor()->full_name() + " protobuf");
      }
      return checkRequiredFields(*message);
  }
  LOG(FATAL) << "unknown MediaType " << static_cast<int>(type);
  return {};
}

}  // namespace mantle::wire
