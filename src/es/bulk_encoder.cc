#include "es/bulk_encoder.h"

#include <algorithm>
#include <cstring>

namespace cesync::es {

std::string_view versionTypeName(VersionType type) {
  switch (type) {
    case VersionType::kInternal:
      return "internal";
    case VersionType::kExternal:
      return "external";
    case VersionType::kExternalGte:
      return "external_gte";
  }
  return "internal";
}

void BulkEncoder::beginItem(BulkOp op, const BulkTarget& target) {
  starts_.push_back(buffer_.size());
  ops_.push_back(op);
  util::JsonWriter w(buffer_);
  w.beginObject();
  switch (op) {
    case BulkOp::kIndex:
      w.key(target.create_only ? "create" : "index");
      break;
    case BulkOp::kDelete:
      w.key("delete");
      break;
  }
  w.beginObject();
  w.key("_index");
  w.value(target.index);
  w.key("_id");
  w.value(target.id);
  if (target.if_seq_no) {
    w.key("if_seq_no");
    w.value(*target.if_seq_no);
    w.key("if_primary_term");
    w.value(target.if_primary_term);
  } else if (!target.create_only) {
    switch (version_type_) {
      case VersionType::kInternal:
        break;
      case VersionType::kExternal:
      case VersionType::kExternalGte:
        w.key("version");
        w.value(target.version);
        w.key("version_type");
        w.value(versionTypeName(version_type_));
        break;
    }
  }
  if (!target.routing.empty()) {
    w.key("routing");
    w.value(target.routing);
  }
  w.endObject();
  w.endObject();
  buffer_.push_back('\n');
}

void BulkEncoder::index(const BulkTarget& target, std::string_view source_json) {
  beginItem(BulkOp::kIndex, target);
  const std::size_t at = buffer_.size();
  buffer_.append(source_json);
  // Outside strings a newline is whitespace, inside strings JSON forbids it raw: replacing it
  // with a space keeps the document identical and the NDJSON framing intact.
  char* p = buffer_.data() + at;
  char* const end = buffer_.data() + buffer_.size();
  while (p != end) {
    p = static_cast<char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    if (p == nullptr) {
      break;
    }
    *p = ' ';
  }
  buffer_.push_back('\n');
}

void BulkEncoder::remove(const BulkTarget& target) {
  beginItem(BulkOp::kDelete, target);
}

std::string_view BulkEncoder::item(std::size_t i) const {
  const std::size_t begin = starts_[i];
  const std::size_t end = i + 1 < starts_.size() ? starts_[i + 1] : buffer_.size();
  return std::string_view(buffer_).substr(begin, end - begin);
}

void BulkEncoder::clear() {
  buffer_.clear();
  starts_.clear();
  ops_.clear();
}

BatchLimits spreadOver(const BatchLimits& limits, std::size_t total_bytes, std::size_t parts,
                       std::size_t min_bytes) {
  BatchLimits spread = limits;
  const std::size_t share = (total_bytes + parts - 1) / parts;
  spread.max_bytes = std::min(limits.max_bytes, std::max(share, min_bytes));
  return spread;
}

}  // namespace cesync::es
