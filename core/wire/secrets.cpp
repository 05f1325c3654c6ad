#include "wire/secrets.hpp"

#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <google/protobuf/descriptor.h>

namespace mantle::wire {

namespace {

namespace pb = google::protobuf;

bool isSecret(const pb::Descriptor* type) {
  return type->name() == "Secret" && (type->file()->package() == "mesos.v1" || type->file()->package() == "mesos");
}

// Whether a message of `type` can hold a Secret somewhere inside: a walk of
// the types it reaches, cached per thread, so a Task without a way to a
// Secret costs a lookup.
bool mayHoldSecret(const pb::Descriptor* type) {
  thread_local std::unordered_map<const pb::Descriptor*, bool> known;
  if (auto it = known.find(type); it != known.end()) return it->second;
  std::unordered_set<const pb::Descriptor*> seen{type};
  std::vector<const pb::Descriptor*> pending{type};
  bool holds = false;
  while (!pending.empty() && !holds) {
    const pb::Descriptor* next = pending.back();
    pending.pop_back();
    holds = isSecret(next);
    for (int i = 0; i < next->field_count(); ++i) {
      const pb::FieldDescriptor* field = next->field(i);
      if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && seen.insert(field->message_type()).second) {
        pending.push_back(field->message_type());
      }
    }
  }
  known[type] = holds;
  return holds;
}

}  // namespace

void redactSecrets(pb::Message& message) {
  const pb::Descriptor* type = message.GetDescriptor();
  if (!mayHoldSecret(type)) return;
  const pb::Reflection* reflection = message.GetReflection();
  if (isSecret(type)) {
    const pb::FieldDescriptor* value = type->FindFieldByName("value");
    if (value == nullptr || !reflection->HasField(message, value)) return;
    pb::Message* inline_ = reflection->MutableMessage(&message, value);
    if (const pb::FieldDescriptor* data = inline_->GetDescriptor()->FindFieldByName("data")) {
      inline_->GetReflection()->SetString(inline_, data, "");
    }
    return;
  }
  std::vector<const pb::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const pb::FieldDescriptor* field : fields) {
    if (field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE || !mayHoldSecret(field->message_type())) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        redactSecrets(*reflection->MutableRepeatedMessage(&message, field, i));
      }
    } else {
      redactSecrets(*reflection->MutableMessage(&message, field));
    }
  }
}

}  // namespace mantle::wire
