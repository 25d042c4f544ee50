// Node-API surface of the runtime: spawns the helper for `create`, and does the short
// non-blocking container operations (start, kill, liveness) directly. Waiting for a container's
// exit is a uv_poll on a pidfd of its monitor, so no thread is parked per container.
#include <fcntl.h>
#include <malloc.h>
#include <napi.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <mutex>
#include <string>
#include <vector>

extern char **environ;

namespace {

int helper_fd = -1;

// The helper server (`berth-runtime-helper serve`): started on the first create and again after
// it exits, it forks one creation per request. Guarded by server_mutex, since creates run on
// several thread-pool threads.
std::mutex server_mutex;
int server_fd = -1;
pid_t server_pid = -1;

// Request flags and layout shared with native/helper/server.h.
constexpr uint32_t SERVER_HAS_STDOUT = 1;
constexpr uint32_t SERVER_HAS_STDERR = 2;
constexpr int SERVER_CONTROL_FD = 3;
// The result line is "ok PID" or "err ERRNO MESSAGE" with a message of under 512 bytes.
constexpr size_t MAX_RESULT_BYTES = 4096;

void StopServerLocked();

struct NativeFailure {
  int code;
  std::string message;
};

Napi::Error MakeError(Napi::Env env, int code, const std::string &message) {
  const char *name = strerrorname_np(code);
  std::string text = message + ": " + strerror(code);
  Napi::Error error = Napi::Error::New(env, text);
  error.Set("code", Napi::String::New(env, name != nullptr ? name : "EIO"));
  error.Set("errno", Napi::Number::New(env, code));
  return error;
}

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

unsigned long long StartTime(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", static_cast<int>(pid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  if (p == nullptr) return 0;
  int field = 2;
  for (p++; *p != '\0' && field < 22; p++)
    if (*p == ' ') field++;
  return strtoull(p, nullptr, 10);
}

// Opens a pidfd for `pid` only if it is still the process recorded at create time: the start
// time guards against the pid having been reused by an unrelated process.
int OpenVerifiedPidfd(pid_t pid, unsigned long long start_time) {
  int fd = PidfdOpen(pid);
  if (fd < 0) return -errno;
  if (StartTime(pid) != start_time) {
    close(fd);
    return -ESRCH;
  }
  return fd;
}

// Copies the helper into a sealed memfd once, so every container is created from a copy that
// no container can rewrite.
Napi::Value LoadHelper(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  int exe = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (exe < 0) throw MakeError(env, errno, "open " + path);
  int copy = memfd_create("berth-runtime-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (copy < 0) {
    int saved = errno;
    close(exe);
    throw MakeError(env, saved, "memfd_create for " + path);
  }
  char buf[65536];
  ssize_t n;
  while ((n = read(exe, buf, sizeof(buf))) > 0) {
    if (write(copy, buf, static_cast<size_t>(n)) != n) {
      n = -1;
      break;
    }
  }
  int saved = errno;
  close(exe);
  if (n < 0 || fcntl(copy, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
    saved = n < 0 ? saved : errno;
    close(copy);
    throw MakeError(env, saved, "copy " + path + " into a sealed memfd");
  }
  std::lock_guard<std::mutex> lock(server_mutex);
  // A server started from the previous copy would keep running the old program.
  StopServerLocked();
  if (helper_fd >= 0) close(helper_fd);
  helper_fd = copy;
  return env.Undefined();
}

// Stops the helper server, if one runs. The caller holds server_mutex.
void StopServerLocked() {
  if (server_fd >= 0) close(server_fd);
  if (server_pid > 0) {
    kill(server_pid, SIGKILL);
    while (waitpid(server_pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  server_fd = -1;
  server_pid = -1;
}

// Starts the helper server unless a live one exists; returns 0 or an errno value. The caller
// holds server_mutex.
int EnsureServerLocked() {
  if (server_pid > 0) {
    if (waitpid(server_pid, nullptr, WNOHANG) == 0) return 0;
    // It exited and is now reaped, or it is no longer our child: start another.
    close(server_fd);
    server_fd = -1;
    server_pid = -1;
  }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) return errno;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pair[1], SERVER_CONTROL_FD);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  // Node ignores SIGPIPE, and an ignored signal stays ignored across execve.
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);

  std::string exe = "/proc/self/fd/" + std::to_string(helper_fd);
  const char *argv[] = {"berth-runtime-helper", "serve", nullptr};
  pid_t pid = -1;
  int ret = posix_spawn(&pid, exe.c_str(), &actions, &attr, const_cast<char **>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(pair[1]);
  if (ret != 0) {
    close(pair[0]);
    return ret;
  }
  server_fd = pair[0];
  server_pid = pid;
  return 0;
}

// Sends one creation request; returns 0 or an errno value (EPIPE when the server is gone).
int SendRequestLocked(const std::string &state_dir, int result_fd, int spec_fd, int stdout_fd, int stderr_fd) {
  uint32_t flags = (stdout_fd >= 0 ? SERVER_HAS_STDOUT : 0) | (stderr_fd >= 0 ? SERVER_HAS_STDERR : 0);
  std::string payload(reinterpret_cast<const char *>(&flags), sizeof(flags));
  payload.append(state_dir);
  payload.push_back('\0');
  int fds[4] = {result_fd, spec_fd, -1, -1};
  size_t nfds = 2;
  if (stdout_fd >= 0) fds[nfds++] = stdout_fd;
  if (stderr_fd >= 0) fds[nfds++] = stderr_fd;
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(fds))];
  } control;
  memset(&control, 0, sizeof(control));
  struct iovec iov = {const_cast<char *>(payload.data()), payload.size()};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
  memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
  for (;;) {
    if (sendmsg(server_fd, &msg, MSG_NOSIGNAL) >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

// Hands a request to the helper server, starting it (again) when needed.
int RequestCreate(const std::string &state_dir, int result_fd, int spec_fd, int stdout_fd, int stderr_fd) {
  std::lock_guard<std::mutex> lock(server_mutex);
  int ret = 0;
  for (int attempt = 0; attempt < 2; attempt++) {
    if ((ret = EnsureServerLocked()) != 0) return ret;
    ret = SendRequestLocked(state_dir, result_fd, spec_fd, stdout_fd, stderr_fd);
    if (ret != EPIPE && ret != ECONNRESET && ret != ECONNREFUSED) return ret;
    StopServerLocked();
  }
  return ret;
}

// Write `data` to `fd` completely; returns 0 or an errno value.
int WriteAll(int fd, const std::string &data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    done += static_cast<size_t>(n);
  }
  return 0;
}

// Reads `fd` to EOF into `out`, at most `max_bytes`. Returns 0, an errno value, or EFBIG when
// the data goes on past `max_bytes`.
int ReadUpTo(int fd, size_t max_bytes, std::string *out) {
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return 0;
    if (out->size() + static_cast<size_t>(n) > max_bytes) return EFBIG;
    out->append(buf, static_cast<size_t>(n));
  }
}

// A thread-pool job that settles a promise: Execute records a failure with Fail, and OnOK
// resolves or rejects.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Fail(int code, const std::string &message) {
    failure_.code = code;
    failure_.message = message;
  }

  Napi::Promise::Deferred deferred_;
  NativeFailure failure_{0, ""};
};

// Does all of `create` in one thread-pool job, so a container start costs the event loop a single
// round trip. The job reserves the state directory (mkdir fails with EEXIST for a taken id) and
// writes meta.json. It hands the encoded spec to the helper in a memfd, because the spec may carry
// secrets in the environment and must not reach the disk. Then it waits for the result line.
class CreateWorker : public PromiseWorker {
 public:
  CreateWorker(Napi::Env env, std::string state_dir, std::string meta, std::string spec, int stdout_fd, int stderr_fd)
      : PromiseWorker(env),
        state_dir_(std::move(state_dir)),
        meta_(std::move(meta)),
        spec_(std::move(spec)),
        stdout_fd_(stdout_fd),
        stderr_fd_(stderr_fd) {}

  void Execute() override {
    if (mkdir(state_dir_.c_str(), 0700) < 0) return Fail(errno, "mkdir " + state_dir_);
    state_dir_created_ = true;
    if (WriteMeta() < 0) return;
    int spec_fd = SpecMemfd();
    if (spec_fd < 0) return;
    int result[2];
    if (pipe2(result, O_CLOEXEC) < 0) {
      close(spec_fd);
      return Fail(errno, "pipe2");
    }
    int ret = RequestCreate(state_dir_, result[1], spec_fd, stdout_fd_, stderr_fd_);
    close(result[1]);
    close(spec_fd);
    if (ret != 0) {
      close(result[0]);
      return Fail(ret, "send a create request to berth-runtime-helper serve");
    }
    // The monitor writes the result line and closes its end; EOF without a line means the
    // creation died first. A read error leaves a partial line, which Parse reports.
    std::string output;
    (void)ReadUpTo(result[0], MAX_RESULT_BYTES, &output);
    close(result[0]);
    Parse(output);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (failure_.code == 0) {
      deferred_.Resolve(Napi::Number::New(env, pid_));
      return;
    }
    Napi::Error error = MakeError(env, failure_.code, failure_.message);
    // Tells the caller whether the state directory is this create's to remove: after a failed
    // mkdir it belongs to another container (EEXIST) or never existed.
    error.Set("stateDirCreated", Napi::Boolean::New(env, state_dir_created_));
    deferred_.Reject(error.Value());
  }

 private:
  int WriteMeta() {
    std::string path = state_dir_ + "/meta.json";
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return Fail(errno, "open " + path), -1;
    int ret = WriteAll(fd, meta_);
    if (close(fd) < 0 && ret == 0) ret = errno;
    if (ret != 0) return Fail(ret, "write " + path), -1;
    return 0;
  }

  int SpecMemfd() {
    int fd = memfd_create("berth-spec", MFD_CLOEXEC);
    if (fd < 0) return Fail(errno, "memfd_create for the container spec"), -1;
    int ret = WriteAll(fd, spec_);
    if (ret == 0 && lseek(fd, 0, SEEK_SET) < 0) ret = errno;
    if (ret != 0) {
      close(fd);
      return Fail(ret, "write the container spec into a memfd"), -1;
    }
    return fd;
  }

  void Parse(const std::string &output) {
    if (output.compare(0, 3, "ok ") == 0) {
      pid_ = atoi(output.c_str() + 3);
      return;
    }
    if (output.compare(0, 4, "err ") == 0) {
      char *rest = nullptr;
      long code = strtol(output.c_str() + 4, &rest, 10);
      std::string message = rest != nullptr && *rest == ' ' ? rest + 1 : "";
      while (!message.empty() && message.back() == '\n') message.pop_back();
      return Fail(static_cast<int>(code), message);
    }
    Fail(EPROTO, "berth-runtime-helper exited without reporting a result");
  }

  std::string state_dir_;
  std::string meta_;
  std::string spec_;
  int stdout_fd_;
  int stderr_fd_;
  bool state_dir_created_ = false;
  int pid_ = 0;
};

Napi::Value Create(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (helper_fd < 0) throw MakeError(env, ENOEXEC, "create: loadHelper was not called");
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsString() || !info[2].IsBuffer())
    throw MakeError(env, EINVAL, "create: expected (stateDir, meta, specBuffer[, stdoutFd, stderrFd])");
  Napi::Buffer<char> spec = info[2].As<Napi::Buffer<char>>();
  int stdout_fd = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : -1;
  int stderr_fd = info.Length() > 4 && info[4].IsNumber() ? info[4].As<Napi::Number>().Int32Value() : -1;
  auto *worker = new CreateWorker(env, info[0].As<Napi::String>(), info[1].As<Napi::String>(),
                                  std::string(spec.Data(), spec.Length()), stdout_fd, stderr_fd);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// Reads a few small files in one thread-pool job. fs.promises.readFile takes four round trips
// through the pool per file (open, fstat, read, close); the runtime reads two or three files per
// operation. A missing file gives null; a file over `max_bytes` fails with EFBIG.
class ReadFilesWorker : public PromiseWorker {
 public:
  ReadFilesWorker(Napi::Env env, std::vector<std::string> paths, size_t max_bytes)
      : PromiseWorker(env),
        paths_(std::move(paths)),
        max_bytes_(max_bytes),
        contents_(paths_.size()),
        present_(paths_.size(), false) {}

  void Execute() override {
    for (size_t i = 0; i < paths_.size() && failure_.code == 0; i++) ReadOne(i);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (failure_.code != 0) {
      deferred_.Reject(MakeError(env, failure_.code, failure_.message).Value());
      return;
    }
    Napi::Array result = Napi::Array::New(env, paths_.size());
    for (size_t i = 0; i < paths_.size(); i++) {
      if (present_[i])
        result.Set(i, Napi::Buffer<char>::Copy(env, contents_[i].data(), contents_[i].size()));
      else
        result.Set(i, env.Null());
    }
    deferred_.Resolve(result);
  }

 private:
  void ReadOne(size_t i) {
    const std::string &path = paths_[i];
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
      if (errno != ENOENT) Fail(errno, "open " + path);
      return;
    }
    int ret = ReadUpTo(fd, max_bytes_, &contents_[i]);
    close(fd);
    if (ret == EFBIG)
      Fail(EFBIG, "read " + path + ": larger than " + std::to_string(max_bytes_) + " bytes");
    else if (ret != 0)
      Fail(ret, "read " + path);
    else
      present_[i] = true;
  }

  std::vector<std::string> paths_;
  size_t max_bytes_;
  std::vector<std::string> contents_;
  std::vector<bool> present_;
};

Napi::Value ReadFiles(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsNumber())
    throw MakeError(env, EINVAL, "readFiles: expected (paths, maxBytes)");
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<std::string> paths;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value item = list.Get(i);
    if (!item.IsString()) throw MakeError(env, EINVAL, "readFiles: every path must be a string");
    paths.push_back(item.As<Napi::String>());
  }
  double max_bytes = info[1].As<Napi::Number>().DoubleValue();
  if (!(max_bytes >= 0)) throw MakeError(env, EINVAL, "readFiles: maxBytes must be a non-negative number");
  auto *worker = new ReadFilesWorker(env, std::move(paths), static_cast<size_t>(max_bytes));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// Opens PATH (created with mode 0600 when missing) and waits on the thread pool for an exclusive
// flock(2) on it. Resolves with the descriptor. Closing it releases the lock, and so does the end
// of the process, so a crashed holder never leaves the lock taken. Each call opens the file anew,
// so two calls exclude each other even within one process.
class LockFileWorker : public PromiseWorker {
 public:
  LockFileWorker(Napi::Env env, std::string path) : PromiseWorker(env), path_(std::move(path)) {}

  void Execute() override {
    fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) {
      Fail(errno, "open " + path_);
      return;
    }
    while (flock(fd_, LOCK_EX) < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      close(fd_);
      fd_ = -1;
      Fail(saved, "flock " + path_);
      return;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (failure_.code != 0) {
      deferred_.Reject(MakeError(env, failure_.code, failure_.message).Value());
      return;
    }
    deferred_.Resolve(Napi::Number::New(env, fd_));
  }

 private:
  std::string path_;
  int fd_ = -1;
};

Napi::Value LockFile(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw MakeError(env, EINVAL, "lockFile: expected a path");
  auto *worker = new LockFileWorker(env, info[0].As<Napi::String>());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// Releases a created container: one byte into its start FIFO. Every call here is non-blocking.
Napi::Value Start(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string fifo = std::string(info[0].As<Napi::String>()) + "/exec.fifo";
  int fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) throw MakeError(env, errno, "open " + fifo);
  char byte = 0;
  ssize_t n = write(fd, &byte, 1);
  int saved = errno;
  close(fd);
  if (n != 1) throw MakeError(env, saved, "write " + fifo);
  if (unlink(fifo.c_str()) < 0 && errno != ENOENT) throw MakeError(env, errno, "unlink " + fifo);
  return env.Undefined();
}

Napi::Value Kill(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  unsigned long long start = static_cast<unsigned long long>(info[1].As<Napi::Number>().DoubleValue());
  int sig = info[2].As<Napi::Number>().Int32Value();
  int fd = OpenVerifiedPidfd(pid, start);
  if (fd == -ENOSYS) {
    // Kernels before 5.3 (and valgrind 3.19) lack pidfd_open. The start-time check then
    // narrows the pid-reuse window to the time between the check and kill(2).
    if (StartTime(pid) != start) throw MakeError(env, ESRCH, "kill " + std::to_string(pid));
    if (kill(pid, sig) < 0) throw MakeError(env, errno, "kill " + std::to_string(pid));
    return env.Undefined();
  }
  if (fd < 0) throw MakeError(env, -fd, "pidfd_open " + std::to_string(pid));
  long ret = syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0);
  int saved = errno;
  close(fd);
  if (ret < 0) throw MakeError(env, saved, "pidfd_send_signal " + std::to_string(pid));
  return env.Undefined();
}

Napi::Value ProcessAlive(const Napi::CallbackInfo &info) {
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  unsigned long long start = static_cast<unsigned long long>(info[1].As<Napi::Number>().DoubleValue());
  return Napi::Boolean::New(info.Env(), pid > 0 && StartTime(pid) == start);
}

constexpr uint64_t EXIT_POLL_INTERVAL_MS = 50;

struct ExitWatch {
  union {
    uv_poll_t poll;   // on the pidfd
    uv_timer_t timer; // fallback without pidfd_open: checks /proc/PID/stat
  } handle;
  int pidfd;
  pid_t pid;
  unsigned long long start_time;
  napi_env env;
  napi_deferred deferred;
};

void OnWatchClosed(uv_handle_t *handle) {
  auto *watch = static_cast<ExitWatch *>(handle->data);
  if (watch->pidfd >= 0) close(watch->pidfd);
  delete watch;
}

void ResolveWatch(ExitWatch *watch) {
  napi_handle_scope scope;
  napi_open_handle_scope(watch->env, &scope);
  napi_value undefined;
  napi_get_undefined(watch->env, &undefined);
  napi_resolve_deferred(watch->env, watch->deferred, undefined);
  napi_close_handle_scope(watch->env, scope);
  uv_close(reinterpret_cast<uv_handle_t *>(&watch->handle), OnWatchClosed);
}

void OnProcessExit(uv_poll_t *handle, int, int) {
  uv_poll_stop(handle);
  ResolveWatch(static_cast<ExitWatch *>(handle->data));
}

void OnExitPollTimer(uv_timer_t *timer) {
  auto *watch = static_cast<ExitWatch *>(timer->data);
  if (StartTime(watch->pid) == watch->start_time) return;
  uv_timer_stop(timer);
  ResolveWatch(watch);
}

// Resolves when the process exits; a pidfd polls readable at exit even for a non-child.
Napi::Value WatchExit(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  unsigned long long start = static_cast<unsigned long long>(info[1].As<Napi::Number>().DoubleValue());
  int fd = OpenVerifiedPidfd(pid, start);
  if (fd == -ESRCH) {
    Napi::Promise::Deferred done = Napi::Promise::Deferred::New(env);
    done.Resolve(env.Undefined());
    return done.Promise();
  }
  if (fd < 0 && fd != -ENOSYS) throw MakeError(env, -fd, "pidfd_open " + std::to_string(pid));
  uv_loop_t *loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  auto *watch = new ExitWatch{};
  watch->pidfd = fd;
  watch->pid = pid;
  watch->start_time = start;
  watch->env = env;
  int ret;
  if (fd >= 0) {
    watch->handle.poll.data = watch;
    ret = uv_poll_init(loop, &watch->handle.poll, fd);
    if (ret == 0) ret = uv_poll_start(&watch->handle.poll, UV_READABLE, OnProcessExit);
  } else {
    watch->pidfd = -1;
    watch->handle.timer.data = watch;
    ret = uv_timer_init(loop, &watch->handle.timer);
    if (ret == 0) ret = uv_timer_start(&watch->handle.timer, OnExitPollTimer, EXIT_POLL_INTERVAL_MS, EXIT_POLL_INTERVAL_MS);
  }
  if (ret != 0) {
    if (fd >= 0) close(fd);
    delete watch;
    throw MakeError(env, -ret, "uv watch on the exit of " + std::to_string(pid));
  }
  napi_value promise;
  napi_create_promise(env, &watch->deferred, &promise);
  return Napi::Value(env, promise);
}

// Returns the free pages of every malloc arena to the kernel (glibc 2.8 and later, malloc_trim(3)),
// which glibc otherwise keeps after a burst of allocations. Returns true when some were released.
// glibc locks each arena in turn, so call it when the process is quiet.
Napi::Value TrimMalloc(const Napi::CallbackInfo &info) {
  return Napi::Boolean::New(info.Env(), malloc_trim(0) == 1);
}

// The helper server's pid, or 0 when none runs (for diagnostics and tests).
Napi::Value HelperServerPid(const Napi::CallbackInfo &info) {
  std::lock_guard<std::mutex> lock(server_mutex);
  bool alive = server_pid > 0 && waitpid(server_pid, nullptr, WNOHANG) == 0;
  return Napi::Number::New(info.Env(), alive ? server_pid : 0);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("loadHelper", Napi::Function::New(env, LoadHelper));
  exports.Set("create", Napi::Function::New(env, Create));
  exports.Set("readFiles", Napi::Function::New(env, ReadFiles));
  exports.Set("helperServerPid", Napi::Function::New(env, HelperServerPid));
  exports.Set("start", Napi::Function::New(env, Start));
  exports.Set("kill", Napi::Function::New(env, Kill));
  exports.Set("processAlive", Napi::Function::New(env, ProcessAlive));
  exports.Set("watchExit", Napi::Function::New(env, WatchExit));
  exports.Set("trimMalloc", Napi::Function::New(env, TrimMalloc));
  exports.Set("lockFile", Napi::Function::New(env, LockFile));
  return exports;
}

}  // namespace

NODE_API_MODULE(berth_runtime, Init)
