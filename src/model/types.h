// The domain's plain values: galleries of items, each an image under a caller-chosen key
// with tags, searched by image or by tags. No wire protocol's names or defaults: a surface
// (api/v1 ...) maps its fields and fills its own defaults before calling the engine.
//
//   model::GallerySpec spec{.name = "shoes", .model = "common-search",
//                           .capacity = 30000000, .tag_keys = {"color"}};
//   model::Query q{.image = bytes, .limit = 10};
//
// Thread contract: plain values.
#ifndef ISS_MODEL_TYPES_H_
#define ISS_MODEL_TYPES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace iss::model {

// An item's tags: key -> value. Keys are among the gallery's declared tag keys.
using Tags = std::map<std::string, std::string>;

// A crop rectangle in pixels of the decoded, upright (EXIF-oriented) image.
struct Box {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
};

struct GallerySpec {
  std::string name;
  std::string model;  // a model name of the registry
  std::string description;
  int64_t capacity = 0;  // items the gallery may hold (the engine also applies its own cap)
  std::vector<std::string> tag_keys;  // the tag keys items may carry
};

enum class GalleryState {
  kNormal,    // usable
  kAbnormal,  // its model is not installed: nothing can be added or searched
};

struct Gallery {
  std::string project_id;
  std::string name;
  std::string model;
  std::string model_display_name;
  std::string description;
  int64_t capacity = 0;
  std::vector<std::string> tag_keys;
  int64_t created_ms = 0;
  int64_t expires_ms = -1;  // -1: never
  GalleryState state = GalleryState::kNormal;
  int64_t item_count = 0;
};

// An item to put (add or replace).
struct NewItem {
  std::string key;                   // the item's identity in the gallery
  std::optional<std::string> image;  // the image bytes; when absent, fetched by `key`
  Tags tags;
};

// A tag value's most characters (UTF-8 code points), from any surface or source.
inline constexpr size_t kMaxTagValueChars = 64;

// The deepest result a search may reach: offset + limit at most this. Every search costs
// at most this many candidates per query vector, however large the gallery.
inline constexpr size_t kMaxResultWindow = 1000;

struct Query {
  std::optional<std::string> image;  // query image bytes; wins over `key`
  // A stored item's key (its stored vector is the query), or a locator to fetch the
  // query image from when no such item exists or a crop is asked for.
  std::optional<std::string> key;
  Tags filter;  // every given key must equal
  size_t limit = 0;
  size_t offset = 0;        // offset + limit <= kMaxResultWindow
  std::optional<Box> crop;  // crop of the query image
};

struct Hit {
  std::string key;
  double score = 0;  // similarity in [0, 1]
  Tags tags;
};

struct Page {
  int64_t count = 0;  // every item the query ranks (all of the gallery, or those the filter
                      // matches), not only this page's (docs/api.md)
  std::vector<Hit> hits;
};

// An operator's view of one gallery's vector index.
struct IndexStats {
  std::string tier;         // "exact" or "ivf-pq"
  int64_t vectors = 0;      // searchable
  int64_t ann_rows = 0;     // rows in the compressed tier
  int64_t buffer_rows = 0;  // rows searched exactly (side buffer)
  int64_t nlist = 0;
  int64_t ram_bytes = 0;        // heap held by the index
  int64_t disk_bytes = 0;       // vector file + snapshot
  bool restored = false;        // loaded from its snapshot at start-up
  int64_t preloaded_bytes = 0;  // vector file read into the page cache since start-up
};

// Totals over every gallery of every project.
struct EngineStats {
  int64_t galleries = 0;
  int64_t items = 0;
  int64_t index_ram_bytes = 0;
  int64_t index_disk_bytes = 0;
};

}  // namespace iss::model

#endif  // ISS_MODEL_TYPES_H_
