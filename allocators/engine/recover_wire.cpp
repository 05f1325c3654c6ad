// recover_resources_batch read straight from its bytes. A master's declines
// come back as tens of thousands of items of a handful of plain resources
// (a name, a type, a value and the allocation role): those items are read
// without building a message, their ids and roles pointing into the request.
// Anything else (reservations, disk info, sets, fields given twice, unknown
// fields, resource kinds not yet cached) goes through the message parser, so
// every item has exactly the effect recoverResources() gives it.
#include <google/protobuf/arena.h>

#include <cmath>
#include <cstring>
#include <optional>

#include "engine.hpp"
#include "wire.hpp"

namespace mantle::allocator_engine {

namespace {

// A field's tag and, for a length-delimited field, its bytes.
struct Field {
  std::uint64_t number = 0;
  std::uint32_t type = 0;
  std::uint64_t varint = 0;    // type 0
  double fixed = 0;            // type 1
  const char* data = nullptr;  // type 2
  std::size_t size = 0;
};

// Reads the field at `at` (types 0, 1 and 2 only); false when malformed or
// of another wire type. Inlined into each reader: the field then stays in
// registers (a batch holds ~20 fields per item).
[[gnu::always_inline]] inline bool readField(const char*& at, const char* end, Field* f) {
  std::uint64_t tag = 0;
  if (!wire::readVarint(at, end, &tag)) return false;
  f->number = tag >> 3;
  f->type = static_cast<std::uint32_t>(tag & 7);
  switch (f->type) {
    case 0: return wire::readVarint(at, end, &f->varint);
    case 1: {
      if (end - at < 8) return false;
      std::uint64_t bits = 0;
      for (int i = 0; i < 8; ++i) bits |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(at[i])) << (8 * i);
      std::memcpy(&f->fixed, &bits, sizeof bits);
      at += 8;
      return true;
    }
    case 2: {
      std::uint64_t size = 0;
      if (!wire::readVarint(at, end, &size) || size > static_cast<std::uint64_t>(end - at)) return false;
      f->data = at;
      f->size = static_cast<std::size_t>(size);
      at += size;
      return true;
    }
    default: return false;
  }
}

// A message holding only field 1 as a string (FrameworkID, AgentID,
// AllocationInfo); absent: "".
bool readOnlyString(const char* at, const char* end, std::string_view* out) {
  *out = {};
  bool seen = false;
  while (at < end) {
    Field f;
    if (!readField(at, end, &f) || f.number != 1 || f.type != 2 || seen) return false;
    *out = std::string_view(f.data, f.size);
    seen = true;
  }
  return true;
}

}  // namespace

bool Engine::readWireResource(const char* at, const char* end) {
  std::string_view name, role;
  std::optional<std::uint64_t> type;
  bool hasName = false, hasScalar = false, hasRanges = false, hasAllocation = false;
  double scalar = 0;
  auto rangesBegin = static_cast<std::uint32_t>(recoverRanges_.size());
  while (at < end) {
    Field f;
    if (!readField(at, end, &f)) return false;
    switch (f.number) {
      case 1:  // name
        if (f.type != 2 || hasName) return false;
        name = std::string_view(f.data, f.size);
        hasName = true;
        break;
      case 2:  // type
        if (f.type != 0 || type.has_value() || f.varint > v1::Value::RANGES) return false;
        type = f.varint;
        break;
      case 3: {  // scalar: Value.Scalar { double value = 1; }
        if (f.type != 2 || hasScalar) return false;
        hasScalar = true;
        const char* s = f.data;
        const char* e = f.data + f.size;
        bool seen = false;
        while (s < e) {
          Field v;
          if (!readField(s, e, &v) || v.number != 1 || v.type != 1 || seen) return false;
          scalar = v.fixed;
          seen = true;
        }
        break;
      }
      case 4: {  // ranges: Value.Ranges { repeated Range range = 1; }
        if (f.type != 2 || hasRanges) return false;
        hasRanges = true;
        const char* s = f.data;
        const char* e = f.data + f.size;
        while (s < e) {
          Field r;
          if (!readField(s, e, &r) || r.number != 1 || r.type != 2) return false;
          Range range{0, 0};
          bool seenBegin = false, seenEnd = false;
          const char* rs = r.data;
          const char* re = r.data + r.size;
          while (rs < re) {
            Field b;
            if (!readField(rs, re, &b) || b.type != 0) return false;
            if (b.number == 1 && !seenBegin) {
              range.first = b.varint;
              seenBegin = true;
            } else if (b.number == 2 && !seenEnd) {
              range.second = b.varint;
              seenEnd = true;
            } else {
              return false;
            }
          }
          recoverRanges_.push_back(range);
        }
        break;
      }
      case 11:  // allocation_info: AllocationInfo { string role = 1; }
        if (f.type != 2 || hasAllocation) return false;
        hasAllocation = true;
        if (!readOnlyString(f.data, f.data + f.size, &role)) return false;
        break;
      default: return false;
    }
  }
  // What Catalog::intern() accepts without complaint, for a kind it has
  // cached; anything else is left to it.
  auto t = static_cast<v1::Value::Type>(type.value_or(v1::Value::SCALAR));
  if (name.empty()) return false;
  if (t == v1::Value::SCALAR && (!hasScalar || hasRanges || !std::isfinite(scalar) || scalar < 0)) return false;
  if (t == v1::Value::RANGES && (!hasRanges || hasScalar)) return false;
  WireResource r;
  if (!catalog_.findPlain(name, t, &r.kind)) return false;
  r.role = role;
  r.scalar = scalar;
  r.rangesBegin = rangesBegin;
  r.rangesEnd = static_cast<std::uint32_t>(recoverRanges_.size());
  recoverResources_.push_back(r);
  return true;
}

bool Engine::readWireItem(const char* at, const char* end, WireItem* item) {
  bool hasFramework = false, hasAgent = false;
  item->resourcesBegin = static_cast<std::uint32_t>(recoverResources_.size());
  while (at < end) {
    Field f;
    if (!readField(at, end, &f)) return false;
    switch (f.number) {
      case 1:  // framework_id
        if (f.type != 2 || hasFramework) return false;
        hasFramework = true;
        if (!readOnlyString(f.data, f.data + f.size, &item->framework)) return false;
        break;
      case 2:  // agent_id
        if (f.type != 2 || hasAgent) return false;
        hasAgent = true;
        if (!readOnlyString(f.data, f.data + f.size, &item->agent)) return false;
        break;
      case 3:  // resources
        if (f.type != 2 || !readWireResource(f.data, f.data + f.size)) return false;
        break;
      case 4:  // refuse_seconds (the last one given counts)
        if (f.type != 1) return false;
        item->refuseSeconds = f.fixed;
        break;
      case 5:  // now_seconds
        if (f.type != 1) return false;
        item->nowSeconds = f.fixed;
        break;
      default: return false;
    }
  }
  item->resourcesEnd = static_cast<std::uint32_t>(recoverResources_.size());
  return true;
}

Status Engine::recoverBatch(const v1::AllocatorRecoverResourcesBatch& batch) {
  DeferKeys defer(this);
  for (const v1::AllocatorRecoverResources& item : batch.items()) {
    if (Status s = recoverResources(item); !s.ok()) return s;
  }
  return {};
}

Status Engine::recoverBatchEncoded(std::string_view bytes) {
  // Nothing reads the order of clients and roles while a batch is applied:
  // each changed key is recomputed once, at the end (whatever the outcome).
  DeferKeys defer(this);
  const std::string undecodable = "cannot decode request " + v1::AllocatorRecoverResourcesBatch().GetTypeName();
  recoverItems_.clear();
  recoverResources_.clear();
  recoverRanges_.clear();
  std::optional<google::protobuf::Arena> arena;  // for items left to the parser

  // First read every item, so that bytes that do not decode change nothing.
  const char* at = bytes.data();
  const char* end = at + bytes.size();
  bool general = false;
  while (at < end) {
    Field f;
    if (!readField(at, end, &f) || f.number != 1 || f.type != 2) {
      general = true;  // unknown fields, malformed bytes: the parser decides
      break;
    }
    WireItem item;
    std::size_t resources = recoverResources_.size(), ranges = recoverRanges_.size();
    if (!readWireItem(f.data, f.data + f.size, &item)) {
      recoverResources_.resize(resources);
      recoverRanges_.resize(ranges);
      item = WireItem();
      if (!arena) arena.emplace();
      auto* message = google::protobuf::Arena::CreateMessage<v1::AllocatorRecoverResources>(&*arena);
      if (!message->ParseFromArray(f.data, static_cast<int>(f.size))) return invalidArgument(undecodable);
      item.message = message;
    }
    recoverItems_.push_back(item);
  }
  if (general) {
    if (!arena) arena.emplace();
    auto* batch = google::protobuf::Arena::CreateMessage<v1::AllocatorRecoverResourcesBatch>(&*arena);
    if (!batch->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return invalidArgument(undecodable);
    return recoverBatch(*batch);
  }

  // Then apply them in order, as recoverResources() would.
  for (const WireItem& item : recoverItems_) {
    if (item.message != nullptr) {
      if (Status s = recoverResources(*item.message); !s.ok()) return s;
      continue;
    }
    std::uint32_t framework = findFramework(item.framework);
    std::uint32_t agent = findAgent(item.agent);
    // The framework or the agent is gone: its allocations went with it.
    if (framework == kNone || agent == kNone) continue;
    groups_.clear();
    for (std::uint32_t i = item.resourcesBegin; i < item.resourcesEnd; ++i) {
      const WireResource& r = recoverResources_[i];
      Entry e;
      e.kind = r.kind;
      if (catalog_.kind(r.kind).type == v1::Value::SCALAR) {
        e.scalar = roundScalar(r.scalar);
      } else {
        e.ranges.assign(recoverRanges_.begin() + r.rangesBegin, recoverRanges_.begin() + r.rangesEnd);
        normalizeRanges(e.ranges);
      }
      std::size_t g = 0;
      while (g < groups_.size() && groups_[g].role != r.role) ++g;
      if (g == groups_.size()) {
        groups_.push_back(RecoveredGroup{r.role, Resources()});
        groups_[g].resources.mutableEntries().reserve(item.resourcesEnd - i);
      }
      groups_[g].resources.add(std::move(e));
    }
    if (Status s = recoverGroups(framework, agent, item.refuseSeconds, item.nowSeconds); !s.ok()) return s;
  }
  return {};
}

}  // namespace mantle::allocator_engine
