// Mesos' JSON mapping of protobuf messages, both directions, by reflection.
//
// This is the mapping Mesos endpoints speak (stout's), not protobuf's
// canonical proto3 JSON:
//   * keys are the .proto field names (snake_case);
//   * enums are written by name; read by name or by number;
//   * all integers, int64/uint64 included, are JSON numbers; on input they may
//     also be decimal strings;
//   * doubles are numbers, written in the shortest form that reads back
//     exactly, always with a fraction or exponent ("5.0"); "Infinity",
//     "-Infinity" and "NaN" are strings both ways;
//   * bytes are standard base64 (url-safe and unpadded input accepted);
//   * repeated fields are arrays (empty ones are not written); map fields are
//     objects keyed by the map key, sorted by key on output;
//   * the writer emits set fields plus unset optional fields that declare an
//     explicit default and are not deprecated (Filters.refuse_seconds 5.0,
//     CommandInfo.shell true, ...), as Mesos does;
//   * the reader ignores unknown keys and treats null as absent; a map of
//     mesos.v1.Value.Scalar (TaskInfo.limits, quota guarantees and limits)
//     accepts a bare number as well as {"value": x};
//   * missing required (proto2) fields are errors, named by path.
//
// Errors name the JSON path of the offending value, e.g.
// "framework_info.capabilities[0].type: unknown enum value 'FOO'". Map entries
// appear as limits["cpus"].
#pragma once

#include <string>
#include <string_view>

#include "mantle/result.hpp"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace mantle::wire {

struct JsonPrintOptions {
  // Write unset optional fields that have an explicit, non-deprecated default
  // (Mesos' behaviour). When false only fields that are set are written.
  bool includeDefaults = true;
};

struct JsonParseOptions {
  // Mesos drops unknown enum names in optional and repeated fields (so a
  // newer client's capability is ignored by an older master). By default
  // Mantle reports them as errors; set this to get Mesos' behaviour. Unknown
  // names in required fields are errors either way.
  bool ignoreUnknownEnumValues = false;
  // Skip the check for missing required fields.
  bool allowPartial = false;
};

// The JSON text of `message`.
std::string toJson(const google::protobuf::Message& message, const JsonPrintOptions& options = {});

// Appends the JSON text of `message` to `out` (for composing larger
// documents).
void appendJson(const google::protobuf::Message& message, std::string* out,
                const JsonPrintOptions& options = {});

// Replaces the contents of `message` with the JSON object `json`. On error the
// message holds whatever was parsed before it.
Status fromJson(std::string_view json, google::protobuf::Message* message,
                const JsonParseOptions& options = {});

// Ok when every required field of `message`, recursively, is set; otherwise
// an InvalidArgument error "missing required fields: a.b, c[0].d".
Status checkRequiredFields(const google::protobuf::Message& message);

// fromJson into a fresh T.
template <typename T>
Result<T> parseJson(std::string_view json, const JsonParseOptions& options = {}) {
  T message;
  Status status = fromJson(json, &message, options);
  if (!status.ok()) {
    return status.error();
  }
  return message;
}

}  // namespace mantle::wire
