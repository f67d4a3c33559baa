#include "engine/gallery.h"

#include <algorithm>
#include <mutex>

#include "common/status.h"

namespace iss::engine {

void TagIndex::Add(uint64_t id, const model::Tags& tags) {
  for (const auto& [k, v] : tags) bits_[k][v].add(id);
}

void TagIndex::Remove(uint64_t id, const model::Tags& tags) {
  for (const auto& [k, v] : tags) {
    auto it = bits_.find(k);
    if (it == bits_.end()) continue;
    auto vit = it->second.find(v);
    if (vit == it->second.end()) continue;
    vit->second.remove(id);
    if (vit->second.isEmpty()) it->second.erase(vit);
  }
}

Roaring64Map TagIndex::Filter(const model::Tags& filter) const {
  Roaring64Map result;
  bool first = true;
  for (const auto& [k, v] : filter) {
    auto it = bits_.find(k);
    if (it == bits_.end()) return Roaring64Map();
    auto vit = it->second.find(v);
    if (vit == it->second.end()) return Roaring64Map();
    if (first) {
      result = vit->second;
      first = false;
    } else {
      result &= vit->second;
    }
  }
  return result;
}

void LiveGallery::AttachMeta(const ItemRecord& r) {
  id_of[r.key] = r.id;
  meta[r.id] = ItemMeta{r.key, r.tags, r.created_ms};
  tags.Add(r.id, r.tags);
  next_id = std::max(next_id, r.id + 1);
  next_version = std::max(next_version, r.version + 1);
}

void LiveGallery::Detach(uint64_t id) {
  auto it = meta.find(id);
  if (it == meta.end()) return;
  tags.Remove(id, it->second.tags);
  id_of.erase(it->second.key);
  shard->Remove(id);
  unindexed.erase(id);
  meta.erase(it);
}

absl::Status LiveGallery::IndexVector(uint64_t id, const std::vector<float>& vector,
                                      uint64_t version) {
  absl::Status s = shard->Put(id, vector, version);
  if (s.ok()) {
    unindexed.erase(id);
    return s;
  }
  shard->Remove(id);  // a replaced item's old vector must not be found any more
  unindexed[id] = Unindexed{version, vector};
  return s;
}

void LiveGallery::RetryUnindexed() {
  for (auto it = unindexed.begin(); it != unindexed.end();) {
    if (!shard->Put(it->first, it->second.vector, it->second.version).ok()) return;
    it = unindexed.erase(it);
  }
}

GalleryPtr Registry::Find(const std::string& project, const std::string& name) const {
  std::shared_lock lock(mu_);
  auto it = entries_.find(Key(project, name));
  if (it == entries_.end() || it->second.slot != Slot::kOpen) return nullptr;
  return it->second.gallery;
}

Registry::Slot Registry::StateOf(const std::string& project, const std::string& name) const {
  std::shared_lock lock(mu_);
  auto it = entries_.find(Key(project, name));
  return it == entries_.end() ? Slot::kFree : it->second.slot;
}

absl::Status Registry::Reserve(const std::string& project, const std::string& name, int limit) {
  std::unique_lock lock(mu_);
  auto it = entries_.find(Key(project, name));
  if (it != entries_.end()) {
    if (it->second.slot == Slot::kDeleting) {
      return Fail(Reason::kGalleryDeleting, "(instance `" + name + "`)");
    }
    return Fail(Reason::kGalleryExists, "(instance `" + name + "`)");
  }
  int in_project = 0;
  for (const auto& [key, e] : entries_) in_project += e.project == project;
  if (in_project >= limit) {
    return Fail(Reason::kGalleryLimit,
                "(a project may have at most " + std::to_string(limit) + " instances)");
  }
  entries_[Key(project, name)] = Entry{project, Slot::kCreating, nullptr};
  return absl::OkStatus();
}

void Registry::Publish(const std::string& project, const std::string& name, GalleryPtr g) {
  std::unique_lock lock(mu_);
  if (g == nullptr) {
    entries_.erase(Key(project, name));
    return;
  }
  entries_[Key(project, name)] = Entry{project, Slot::kOpen, std::move(g)};
}

GalleryPtr Registry::BeginDelete(const std::string& project, const std::string& name) {
  std::unique_lock lock(mu_);
  auto it = entries_.find(Key(project, name));
  if (it == entries_.end() || it->second.slot != Slot::kOpen) return nullptr;
  it->second.slot = Slot::kDeleting;
  return it->second.gallery;
}

void Registry::EndDelete(const std::string& project, const std::string& name, bool done) {
  std::unique_lock lock(mu_);
  auto it = entries_.find(Key(project, name));
  if (it == entries_.end()) return;
  if (done) {
    entries_.erase(it);
  } else {
    it->second.slot = Slot::kOpen;
  }
}

std::vector<GalleryPtr> Registry::All(const std::string& project) const {
  std::shared_lock lock(mu_);
  std::vector<GalleryPtr> out;
  for (const auto& [key, e] : entries_) {
    if (e.slot == Slot::kOpen && (project.empty() || e.project == project)) {
      out.push_back(e.gallery);
    }
  }
  return out;
}

void Registry::Insert(GalleryPtr g) {
  std::unique_lock lock(mu_);
  const model::Gallery& m = g->gallery();
  entries_[Key(m.project_id, m.name)] = Entry{m.project_id, Slot::kOpen, std::move(g)};
}

}  // namespace iss::engine
