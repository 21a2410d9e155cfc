#include "platform/platform_api.h"

#include <httplib.h>

#include <charconv>

#include <nlohmann/json.hpp>

#include "platform/platform_json.h"
#include "platform/project_export.h"

namespace officina {
namespace {

using OJson = nlohmann::ordered_json;
using Handler = std::function<void(const httplib::Request&, httplib::Response&, const Principal&)>;

httplib::Server::Handler guard(Platform& platform, Handler handler) {
  return [&platform, handler](const httplib::Request& req, httplib::Response& res) {
    std::string header = req.get_header_value("Authorization");
    std::string key = header.starts_with("Bearer ") ? header.substr(7) : req.get_header_value("api-key");
    auto who = platform.authenticate(key);
    if (!who) return Server::send_error(res, who.error());
    handler(req, res, *who);
  };
}

template <class T>
void reply(httplib::Response& res, const ApiResult<T>& result, int status = 200) {
  if (!result) return Server::send_error(res, result.error());
  res.status = status;
  if constexpr (requires { list_json(*result); }) {
    res.set_content(list_json(*result).dump(), "application/json");
  } else {
    res.set_content(to_json(*result).dump(), "application/json");
  }
}

// The body as a JSON object, or a 400 saying why not.
ApiResult<OJson> object_body(const httplib::Request& req) {
  OJson body = OJson::parse(req.body, nullptr, false);
  if (body.is_discarded()) return std::unexpected(bad_request("the body is not valid JSON", "", "invalid_json"));
  if (!body.is_object()) return std::unexpected(bad_request("the body must be a JSON object"));
  return body;
}

ApiResult<std::string> string_field(const OJson& body, const char* name, bool required = true) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return std::unexpected(bad_request(fmt::format("'{}' is required", name), name));
    return std::string();
  }
  if (!it->is_string()) return std::unexpected(bad_request(fmt::format("'{}' must be a string", name), name));
  return it->get<std::string>();
}

ApiResult<double> number_field(const OJson& body, const char* name, bool required, double fallback = 0) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return std::unexpected(bad_request(fmt::format("'{}' is required", name), name));
    return fallback;
  }
  if (!it->is_number()) return std::unexpected(bad_request(fmt::format("'{}' must be a number", name), name));
  return it->get<double>();
}

ApiResult<int64_t> time_field(const OJson& body, const char* name, bool required) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return std::unexpected(bad_request(fmt::format("'{}' is required (unix seconds)", name), name));
    return 0;
  }
  if (!it->is_number_integer() || it->get<int64_t>() < 0) {
    return std::unexpected(bad_request(fmt::format("'{}' must be unix seconds", name), name));
  }
  return it->get<int64_t>();
}

int64_t query_int(const httplib::Request& req, const char* name, int64_t fallback) {
  if (!req.has_param(name)) return fallback;
  const std::string text = req.get_param_value(name);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && end == text.data() + text.size() ? v : -1;
}

void mount_routes(httplib::Server& http, Platform& p) {

  http.Post("/v1/organizations", guard(p, [&p](const auto& req, auto& res, const Principal& who) {
              auto body = object_body(req);
              if (!body) return Server::send_error(res, body.error());
              auto name = string_field(*body, "name");
              if (!name) return Server::send_error(res, name.error());
              auto kind = string_field(*body, "kind");
              if (!kind) return Server::send_error(res, kind.error());
              reply(res, p.create_organization(who, req.remote_addr, *name, *kind), 201);
            }));
  http.Get("/v1/organizations", guard(p, [&p](const auto&, auto& res, const Principal& who) {
             reply(res, p.list_organizations(who));
           }));
  http.Get(R"(/v1/organizations/([^/]+))", guard(p, [&p](const auto& req, auto& res, const Principal& who) {
             reply(res, p.get_organization(who, req.matches[1]));
           }));
  http.Post(R"(/v1/organizations/([^/]+)/projects)", guard(p, [&p](const auto& req, auto& res, const Principal& who) {
              auto body = object_body(req);
              if (!body) return Server::send_error(res, body.error());
              auto name = string_field(*body, "name");
              if (!name) return Server::send_error(res, name.error());
              reply(res, p.create_project(who, req.remote_addr, req.matches[1], *name), 201);
            }));
  http.Get(R"(/v1/organizations/([^/]+)/projects)", guard(p, [&p](const auto& req, auto& res, const Principal& who) {
             reply(res, p.list_projects(who, req.matches[1]));
           }));
  http.Get("/v1/projects", guard(p, [&p](const auto&, auto& res, const Principal& who) {
             reply(res, p.list_projects(who, ""));
           }));
  http.Get(R"(/v1/projects/([^/]+))", guard(p, [&p](const auto& req, auto& res, const Principal& who) {
             reply(res, p.get_project(who, req.matches[1]));
           }));
  http.Delete(R"(/v1/projects/([^/]+))", guard(p, [&p](const auto& req, auto& res, const Principal& who) {
                reply(res, p.delete_project(who, req.remote_addr, req.matches[1]));
              }));
  http.Post(R"(/v1/projects/([^/]+)/allocations)", guard(p, [&p](const auto& req, auto& res, const Principal& who) {
              auto body = object_body(req);
              if (!body) return Server::send_error(res, body.error());
              AllocationRequest r;
              auto tier = string_field(*body, "tier");
              if (!tier) return Server::send_error(res, tier.error());
              r.tier = *tier;
              auto core = number_field(*body, "core_hours", true);
              if (!core) return Server::send_error(res, core.error());
              auto gpu = number_field(*body, "gpu_hours", false);
              if (!gpu) return Server::send_error(res, gpu.error());
              auto starts = time_field(*body, "starts_at", true);
              if (!starts) return Server::send_error(res, starts.error());
              auto ends = time_field(*body, "ends_at", true);
              if (!ends) return Server::send_error(res, ends.error());
              r.core_hours = *core;
              r.gpu_hours = *gpu;
              r.starts_at = *starts;
              r.ends_at = *ends;
              reply(res, p.create_allocation(who, req.remote_addr, req.matches[1], r), 201);
            }));
  http.Get(R"(/v1/projects/([^/]+)/allocations)", guard(p, [&p](const auto& req, auto& res, const Principal& who) {
             reply(res, p.list_allocations(who, req.matches[1]));
           }));
  http.Get(R"(/v1/projects/([^/]+)/usage)", guard(p, [&p](const auto& req, auto& res, const Principal& who) {
             reply(res, p.usage(who, req.matches[1]));
           }));
  auto create_key = [&p](const httplib::Request& req, httplib::Response& res, const Principal& who,
                               const std::string& project) {
    auto body = object_body(req);
    if (!body) return Server::send_error(res, body.error());
    auto role = string_field(*body, "role");
    if (!role) return Server::send_error(res, role.error());
    auto expires = time_field(*body, "expires_at", false);
    if (!expires) return Server::send_error(res, expires.error());
    auto made = p.create_api_key(who, req.remote_addr, project, *role,
                                 *expires ? std::optional<int64_t>(*expires) : std::nullopt);
    if (!made) return Server::send_error(res, made.error());
    OJson out = to_json(made->first);
    out["key"] = made->second;  // the only time it is shown
    res.status = 201;
    res.set_content(out.dump(), "application/json");
  };
  http.Post(R"(/v1/projects/([^/]+)/api_keys)",
            guard(p, [create_key](const auto& req, auto& res, const Principal& who) { create_key(req, res, who, req.matches[1]); }));
  http.Get(R"(/v1/projects/([^/]+)/api_keys)", guard(p, [&p](const auto& req, auto& res, const Principal& who) {
             reply(res, p.list_api_keys(who, req.matches[1]));
           }));
  http.Post("/v1/api_keys",
            guard(p, [create_key](const auto& req, auto& res, const Principal& who) { create_key(req, res, who, ""); }));
  http.Get("/v1/api_keys", guard(p, [&p](const auto&, auto& res, const Principal& who) {
             reply(res, p.list_api_keys(who, ""));
           }));
  http.Get(R"(/v1/api_keys/([^/]+))", guard(p, [&p](const auto& req, auto& res, const Principal& who) {
             reply(res, p.get_api_key(who, req.matches[1]));
           }));
  http.Delete(R"(/v1/api_keys/([^/]+))", guard(p, [&p](const auto& req, auto& res, const Principal& who) {
                reply(res, p.revoke_api_key(who, req.remote_addr, req.matches[1]));
              }));
  http.Get("/v1/audit", guard(p, [&p](const auto& req, auto& res, const Principal& who) {
             const int64_t after = query_int(req, "after", 0), limit = query_int(req, "limit", 100);
             if (after < 0) return Server::send_error(res, bad_request("after must be a sequence number", "after"));
             reply(res, p.audit_entries(who, after, limit));
           }));
  http.Get("/v1/audit/verify", guard(p, [&p](const auto&, auto& res, const Principal& who) {
             if (!who.is_operator()) {
               return Server::send_error(res, {403, "Only the operator may verify the audit log", "permission_error", "", ""});
             }
             auto verdict = p.verify_audit();
             if (!verdict) return Server::send_error(res, {500, verdict.error().message, "server_error", "", ""});
             res.set_content(to_json(*verdict).dump(), "application/json");
           }));
}

// A paged list in OpenAI's shape: {"object": "list", "data", "has_more", "first_id", "last_id"}.
template <class T>
OJson page_json(const std::vector<T>& items, bool has_more) {
  OJson j = list_json(items);
  j["has_more"] = has_more;
  j["first_id"] = items.empty() ? OJson(nullptr) : OJson(to_json(items.front())["id"]);
  j["last_id"] = items.empty() ? OJson(nullptr) : OJson(to_json(items.back())["id"]);
  return j;
}

void mount_file_routes(httplib::Server& http, Platform& p, FileService& files) {
  http.Post("/v1/files", [&p, &files](const httplib::Request& req, httplib::Response& res,
                                      const httplib::ContentReader& reader) {
    // Any refusal may leave body bytes unread: the connection must not be
    // reused, or they would be taken for the next request.
    auto refuse = [&res](const ApiError& error) {
      Server::send_error(res, error);
      res.set_header("Connection", "close");
    };
    std::string header = req.get_header_value("Authorization");
    std::string key = header.starts_with("Bearer ") ? header.substr(7) : req.get_header_value("api-key");
    auto who = p.authenticate(key);
    if (!who) return refuse(who.error());
    if (!req.is_multipart_form_data()) {
      return refuse(bad_request("Upload the file as multipart/form-data with fields 'file' and 'purpose'"));
    }
    auto upload = files.begin_upload(*who);
    if (!upload) return refuse(upload.error());
    std::string part, filename, purpose;
    int file_parts = 0;
    std::optional<ApiError> error;
    reader(
        [&](const httplib::MultipartFormData& field) {
          part = field.name;
          if (part == "file") {
            filename = field.filename;
            ++file_parts;
          }
          return file_parts <= 1;
        },
        [&](const char* data, size_t size) {
          if (part == "file") {
            auto ok = (*upload)->write(std::string_view(data, size));
            if (!ok) {
              error = ok.error();
              return false;
            }
          } else if (part == "purpose") {
            purpose.append(data, size);
            if (purpose.size() > 64) {
              error = bad_request("purpose is too long", "purpose");
              return false;
            }
          }
          return true;
        });
    if (error) return refuse(*error);
    if (file_parts != 1) return refuse(bad_request("Send exactly one 'file' field", "file"));
    auto made = files.finish_upload(*who, req.remote_addr, std::move(*upload), filename, purpose);
    if (!made) return refuse(made.error());
    reply(res, made);
  });
  http.Get("/v1/files", guard(p, [&files](const auto& req, auto& res, const Principal& who) {
             const int64_t limit = query_int(req, "limit", 10000);
             bool has_more = false;
             auto list = files.list(who, req.get_param_value("after"), limit, &has_more);
             if (!list) return Server::send_error(res, list.error());
             res.set_content(page_json(*list, has_more).dump(), "application/json");
           }));
  http.Get(R"(/v1/files/([^/]+))", guard(p, [&files](const auto& req, auto& res, const Principal& who) {
             reply(res, files.get(who, req.matches[1]));
           }));
  http.Delete(R"(/v1/files/([^/]+))", guard(p, [&files](const auto& req, auto& res, const Principal& who) {
                auto removed = files.remove(who, req.remote_addr, req.matches[1]);
                if (!removed) return Server::send_error(res, removed.error());
                res.set_content(OJson{{"id", removed->id}, {"object", "file"}, {"deleted", true}}.dump(),
                                "application/json");
              }));
  http.Get(R"(/v1/projects/([^/]+)/export)", guard(p, [&p, &files](const auto& req, auto& res, const Principal& who) {
             const std::string project = req.matches[1];
             auto allowed = check_export(p, who, project);
             if (!allowed) return Server::send_error(res, allowed.error());
             res.set_header("Content-Disposition", "attachment; filename=\"" + project + ".tar\"");
             const std::string origin = req.remote_addr;
             res.set_chunked_content_provider("application/x-tar", [&p, &files, who, origin, project](
                                                                       size_t, httplib::DataSink& sink) {
               TarWriter tar([&sink](std::string_view bytes) {
                 return sink.is_writable() && sink.write(bytes.data(), bytes.size());
               });
               // An error mid-archive can only cut the stream short: the
               // client sees a truncated tar, never a complete-looking one.
               if (!export_project(p, files, who, origin, project, tar)) return false;
               sink.done();
               return true;
             });
           }));
  http.Get(R"(/v1/files/([^/]+)/content)", guard(p, [&files](const auto& req, auto& res, const Principal& who) {
             auto text = files.content(who, req.matches[1]);
             if (!text) return Server::send_error(res, text.error());
             res.set_content(std::move(*text), "application/octet-stream");
           }));
}

void mount_job_routes(httplib::Server& http, Platform& p, FineTuneJobs& jobs) {
  http.Post("/v1/fine_tuning/jobs", guard(p, [&jobs](const auto& req, auto& res, const Principal& who) {
              auto body = object_body(req);
              if (!body) return Server::send_error(res, body.error());
              reply(res, jobs.create(who, req.remote_addr, *body));
            }));
  http.Get("/v1/fine_tuning/jobs", guard(p, [&jobs](const auto& req, auto& res, const Principal& who) {
             bool has_more = false;
             auto list = jobs.list(who, req.get_param_value("after"), query_int(req, "limit", 20), &has_more);
             if (!list) return Server::send_error(res, list.error());
             res.set_content(page_json(*list, has_more).dump(), "application/json");
           }));
  http.Get(R"(/v1/fine_tuning/jobs/([^/]+))", guard(p, [&jobs](const auto& req, auto& res, const Principal& who) {
             reply(res, jobs.get(who, req.matches[1]));
           }));
  http.Post(R"(/v1/fine_tuning/jobs/([^/]+)/cancel)",
            guard(p, [&jobs](const auto& req, auto& res, const Principal& who) {
              reply(res, jobs.cancel(who, req.remote_addr, req.matches[1]));
            }));
  http.Get(R"(/v1/fine_tuning/jobs/([^/]+)/events)", guard(p, [&jobs](const auto& req, auto& res, const Principal& who) {
             bool has_more = false;
             auto list = jobs.events(who, req.matches[1], req.get_param_value("after"), query_int(req, "limit", 20),
                                     &has_more);
             if (!list) return Server::send_error(res, list.error());
             res.set_content(page_json(*list, has_more).dump(), "application/json");
           }));
  http.Get(R"(/v1/fine_tuning/jobs/([^/]+)/checkpoints)",
           guard(p, [&jobs](const auto& req, auto& res, const Principal& who) {
             auto list = jobs.checkpoints(who, req.matches[1]);
             if (!list) return Server::send_error(res, list.error());
             res.set_content(page_json(*list, false).dump(), "application/json");
           }));
}

}  // namespace

Authenticator platform_authenticator(Platform& platform) {
  return [&platform](std::string_view key) -> ApiResult<AuthContext> {
    auto who = platform.authenticate(key);
    if (!who) return std::unexpected(who.error());
    return AuthContext{who->key_id, who->project_id, who->is_operator(), who->can_write()};
  };
}

void mount_platform_api(Server& server, Platform& platform, const PlatformApiParts& parts) {
  mount_routes(server.http(), platform);
  if (parts.files) {
    server.allow_large_bodies("/v1/files", static_cast<size_t>(parts.files->max_bytes()) + (size_t{1} << 20));
    mount_file_routes(server.http(), platform, *parts.files);
  }
  if (parts.jobs) mount_job_routes(server.http(), platform, *parts.jobs);
  if (parts.delete_model) {
    server.http().Delete(R"(/v1/models/(.+))", guard(platform, [f = parts.delete_model](const auto& req, auto& res,
                                                                                       const Principal& who) {
                           auto done = f(who, req.remote_addr, req.matches[1]);
                           if (!done) return Server::send_error(res, done.error());
                           res.set_content(done->dump(), "application/json");
                         }));
  }
}

}  // namespace officina
