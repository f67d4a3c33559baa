// Offline import jobs and bucket sync over HTTP: our own API beside the cloud's v1, scoped
// to the project like it, with the same authentication and error body (docs/api.md):
//
//   POST   /v1/{project_id}/image-search/import-jobs                  create (import or sync)
//   GET    /v1/{project_id}/image-search/import-jobs                  the project's jobs
//   GET    /v1/{project_id}/image-search/import-jobs/{job_id}         one job and its progress
//   DELETE /v1/{project_id}/image-search/import-jobs/{job_id}         forget a finished job
//   POST   /v1/{project_id}/image-search/import-jobs/{job_id}/pause   (also resume, cancel,
//                                                                      rerun)
//   GET    /v1/{project_id}/image-search/import-jobs/{job_id}/failures  the failure report
//
//   api::v1::RegisterJobRoutes(&router, jobs.get());
//
// Thread contract: the handlers are thread-safe; they borrow `jobs`, which must outlive the
// router.
#ifndef ISS_API_V1_JOBS_ROUTES_H_
#define ISS_API_V1_JOBS_ROUTES_H_

#include <nlohmann/json.hpp>

#include "api/http/router.h"

namespace iss::engine {
class JobRunner;
struct Job;
}  // namespace iss::engine

namespace iss::api::v1 {

void RegisterJobRoutes(Router* router, engine::JobRunner* jobs);

// A job as these routes answer it (also the admin API's listing).
nlohmann::json JobJson(const engine::Job& job);

}  // namespace iss::api::v1

#endif  // ISS_API_V1_JOBS_ROUTES_H_
