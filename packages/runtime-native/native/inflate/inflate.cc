// berth_inflate.node: streaming gzip decompression of image layers with ISA-L's igzip.
//
// Inflating is the largest single cost of unpacking a layer, and igzip inflates about twice as
// fast as zlib on this kind of data. It lives in its own addon so that only image pulls need
// libisal; the runtime addon loads without it.
//
// One GzipInflater decodes one layer blob. `setInput` lends it the next compressed chunk. `run`
// inflates on libuv's thread pool into an output buffer that the caller owns, and settles with
// the number of bytes written. At most one `run` may be pending per inflater. Concatenated gzip
// members are decoded one after another, as gzip(1) and Go's gzip.Reader do. Any other byte after
// a member's trailer fails the next `run` as an invalid header.
//
// The gzip header (RFC 1952, section 2.3) is parsed here, and ISA-L gets only the deflate data
// and the trailer: ISA-L 2.30's own header parser failed on headers with FEXTRA or FHCRC that
// arrived split over several chunks.
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <napi.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

namespace {

// Not an ISA-L code: a call that consumed no input and wrote no output. Reported as an error so
// that hostile data can never make the caller loop.
constexpr int kNoProgress = -1000;
// Not an ISA-L code: a header with flag bits that RFC 1952 reserves.
constexpr int kReservedFlags = -1001;
// Not an ISA-L code: the header's own CRC-16 (FHCRC) does not match.
constexpr int kHeaderCrc = -1002;

// RFC 1952 header flags.
constexpr uint8_t kFlagHeaderCrc = 0x02;
constexpr uint8_t kFlagExtra = 0x04;
constexpr uint8_t kFlagName = 0x08;
constexpr uint8_t kFlagComment = 0x10;
constexpr uint8_t kFlagsReserved = 0xe0;
// ID1, ID2, CM, FLG, MTIME (4), XFL, OS.
constexpr uint32_t kFixedHeaderBytes = 10;
constexpr uint8_t kDeflateMethod = 8;

// Describes an ISA-L return code (or one of ours) in words an operator can act on.
const char *DescribeInflateError(int code) {
  switch (code) {
    case ISAL_INVALID_BLOCK:
      return "invalid deflate block";
    case ISAL_INVALID_SYMBOL:
      return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK:
      return "back-reference before the start of the data";
    case ISAL_INVALID_WRAPPER:
      return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD:
      return "unsupported gzip compression method";
    case ISAL_INCORRECT_CHECKSUM:
      return "gzip CRC-32 or length check failed";
    case ISAL_NEED_DICT:
      return "stream needs a preset dictionary";
    case kNoProgress:
      return "the decoder stopped making progress";
    case kReservedFlags:
      return "gzip header sets reserved flags";
    case kHeaderCrc:
      return "gzip header CRC mismatch";
    default:
      return "inflate failed";
  }
}

// The parts of a gzip header, in the order they appear.
enum class HeaderStep { kFixed, kExtraLength, kExtra, kName, kComment, kHeaderCrc, kDone };

class GzipInflater : public Napi::ObjectWrap<GzipInflater> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "GzipInflater",
                       {InstanceMethod("setInput", &GzipInflater::SetInput),
                        InstanceMethod("run", &GzipInflater::Run),
                        InstanceMethod("needsInput", &GzipInflater::NeedsInput),
                        InstanceMethod("complete", &GzipInflater::Complete)});
  }

  explicit GzipInflater(const Napi::CallbackInfo &info)
      : Napi::ObjectWrap<GzipInflater>(info), state_(new inflate_state) {
    isal_inflate_init(state_.get());
  }

  // Runs on a thread-pool thread. It touches only the state and the two borrowed buffers.
  int Inflate(uint8_t *out, uint32_t out_size, uint32_t *written) {
    *written = 0;
    for (;;) {
      if (in_header_) {
        int ret = ParseHeader();
        if (ret != ISAL_DECOMP_OK || in_header_) return ret;
        // ISA-L decodes the deflate data and checks the trailer's CRC-32 and length.
        isal_inflate_reset(state_.get());
        state_->crc_flag = ISAL_GZIP_NO_HDR_VER;
      }
      state_->next_out = out + *written;
      state_->avail_out = out_size - *written;
      uint32_t in_before = state_->avail_in;
      uint32_t out_before = *written;
      int ret = isal_inflate(state_.get());
      *written = out_size - state_->avail_out;
      if (ret != ISAL_DECOMP_OK) return ret;
      if (state_->block_state == ISAL_BLOCK_FINISH) {
        // The member is complete, so whatever follows must be another member's header.
        members_++;
        in_member_ = false;
        StartHeader();
        continue;
      }
      if (in_before > 0 && state_->avail_in == in_before && *written == out_before) return kNoProgress;
      return ISAL_DECOMP_OK;
    }
  }

  // Set once `run` settles; read by needsInput().
  bool output_full_ = false;
  bool busy_ = false;

 private:
  // setInput(chunk: Buffer): lends the next compressed chunk until the inflater has consumed it.
  void SetInput(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (busy_) throw Napi::Error::New(env, "GzipInflater: setInput while a run is pending");
    if (state_->avail_in > 0) throw Napi::Error::New(env, "GzipInflater: setInput before the previous chunk was consumed");
    if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "GzipInflater.setInput: expected a Buffer");
    auto chunk = info[0].As<Napi::Buffer<uint8_t>>();
    if (chunk.Length() > UINT32_MAX) throw Napi::RangeError::New(env, "GzipInflater.setInput: chunk larger than 4 GiB");
    input_.Reset(chunk, 1);
    state_->next_in = chunk.Data();
    state_->avail_in = static_cast<uint32_t>(chunk.Length());
    output_full_ = false;
  }

  // run(out: Buffer): Promise<number>, the bytes written into `out`.
  Napi::Value Run(const Napi::CallbackInfo &info);

  // True when the next run needs a new chunk first: the last chunk is consumed, and the last run
  // did not fill its output, so ISA-L has no output pending.
  Napi::Value NeedsInput(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), state_->avail_in == 0 && !output_full_);
  }

  // True when at least one member ended and no later member has started.
  Napi::Value Complete(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), members_ > 0 && !in_member_ && state_->avail_in == 0 && !output_full_);
  }

  void StartHeader() {
    in_header_ = true;
    header_step_ = HeaderStep::kFixed;
    header_count_ = 0;
    header_crc_ = 0;
    header_skip_ = 0;
    header_stored_crc_ = 0;
    header_flags_ = 0;
  }

  // Takes up to `want` bytes of input for the header and adds them to the header's CRC.
  uint32_t TakeHeaderBytes(uint32_t want, const uint8_t **bytes) {
    uint32_t take = want < state_->avail_in ? want : state_->avail_in;
    *bytes = state_->next_in;
    header_crc_ = crc32_gzip_refl(header_crc_, state_->next_in, take);
    state_->next_in += take;
    state_->avail_in -= take;
    if (take > 0) in_member_ = true;
    return take;
  }

  // The step after `done`, skipping the optional fields that the flags leave out.
  HeaderStep NextStep(HeaderStep done) const {
    if (done < HeaderStep::kExtraLength && (header_flags_ & kFlagExtra)) return HeaderStep::kExtraLength;
    if (done < HeaderStep::kName && (header_flags_ & kFlagName)) return HeaderStep::kName;
    if (done < HeaderStep::kComment && (header_flags_ & kFlagComment)) return HeaderStep::kComment;
    if (done < HeaderStep::kHeaderCrc && (header_flags_ & kFlagHeaderCrc)) return HeaderStep::kHeaderCrc;
    return HeaderStep::kDone;
  }

  // Consumes header bytes from the input. Leaves in_header_ set while the header is incomplete.
  int ParseHeader() {
    const uint8_t *bytes;
    while (state_->avail_in > 0 && header_step_ != HeaderStep::kDone) {
      switch (header_step_) {
        case HeaderStep::kFixed: {
          uint32_t take = TakeHeaderBytes(kFixedHeaderBytes - header_count_, &bytes);
          memcpy(header_fixed_ + header_count_, bytes, take);
          header_count_ += take;
          // Each byte is checked as soon as it arrives, so garbage fails before the stream ends.
          if (header_count_ > 0 && header_fixed_[0] != 0x1f) return ISAL_INVALID_WRAPPER;
          if (header_count_ > 1 && header_fixed_[1] != 0x8b) return ISAL_INVALID_WRAPPER;
          if (header_count_ > 2 && header_fixed_[2] != kDeflateMethod) return ISAL_UNSUPPORTED_METHOD;
          if (header_count_ > 3 && (header_fixed_[3] & kFlagsReserved)) return kReservedFlags;
          if (header_count_ < kFixedHeaderBytes) break;
          header_flags_ = header_fixed_[3];
          header_count_ = 0;
          header_step_ = NextStep(HeaderStep::kFixed);
          break;
        }
        case HeaderStep::kExtraLength: {
          uint32_t take = TakeHeaderBytes(2 - header_count_, &bytes);
          for (uint32_t index = 0; index < take; index++) header_skip_ |= uint32_t(bytes[index]) << (8 * (header_count_ + index));
          header_count_ += take;
          if (header_count_ < 2) break;
          header_count_ = 0;
          header_step_ = HeaderStep::kExtra;
          break;
        }
        case HeaderStep::kExtra:
          header_skip_ -= TakeHeaderBytes(header_skip_, &bytes);
          if (header_skip_ == 0) header_step_ = NextStep(HeaderStep::kExtra);
          break;
        case HeaderStep::kName:
        case HeaderStep::kComment: {
          const void *end = memchr(state_->next_in, 0, state_->avail_in);
          uint32_t span = end ? uint32_t(static_cast<const uint8_t *>(end) - state_->next_in) + 1 : state_->avail_in;
          TakeHeaderBytes(span, &bytes);
          if (end) header_step_ = NextStep(header_step_);
          break;
        }
        case HeaderStep::kHeaderCrc: {
          // The CRC-16 covers the bytes before it, so it stays out of header_crc_.
          uint32_t expected = header_crc_ & 0xffff;
          uint32_t take = TakeHeaderBytes(2 - header_count_, &bytes);
          header_crc_ = expected;
          for (uint32_t index = 0; index < take; index++) header_stored_crc_ |= uint32_t(bytes[index]) << (8 * (header_count_ + index));
          header_count_ += take;
          if (header_count_ < 2) break;
          if (header_stored_crc_ != expected) return kHeaderCrc;
          header_step_ = HeaderStep::kDone;
          break;
        }
        case HeaderStep::kDone:
          break;
      }
    }
    if (header_step_ == HeaderStep::kDone) in_header_ = false;
    return ISAL_DECOMP_OK;
  }

  std::unique_ptr<inflate_state> state_;
  Napi::Reference<Napi::Buffer<uint8_t>> input_;
  // Header parsing: the step, bytes of a fixed-size field seen so far, and the CRC-32 of the
  // header bytes (for FHCRC).
  bool in_header_ = true;
  HeaderStep header_step_ = HeaderStep::kFixed;
  uint32_t header_count_ = 0;
  uint32_t header_crc_ = 0;
  uint32_t header_skip_ = 0;
  uint32_t header_stored_crc_ = 0;
  uint8_t header_flags_ = 0;
  uint8_t header_fixed_[kFixedHeaderBytes] = {};
  bool in_member_ = false;
  uint64_t members_ = 0;
};

class InflateWorker : public Napi::AsyncWorker {
 public:
  InflateWorker(Napi::Object receiver, GzipInflater *inflater, Napi::Buffer<uint8_t> out)
      : Napi::AsyncWorker(receiver.Env(), "berth:inflate"),
        deferred_(Napi::Promise::Deferred::New(receiver.Env())),
        inflater_(inflater),
        out_data_(out.Data()),
        out_size_(static_cast<uint32_t>(out.Length())) {
    // The inflater's state and both buffers must outlive the thread-pool job.
    owner_.Reset(receiver, 1);
    out_.Reset(out, 1);
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override { code_ = inflater_->Inflate(out_data_, out_size_, &written_); }

  void OnOK() override {
    inflater_->busy_ = false;
    inflater_->output_full_ = written_ == out_size_;
    Napi::Env env = Env();
    if (code_ != ISAL_DECOMP_OK) {
      deferred_.Reject(Napi::Error::New(env, std::string("gzip: ") + DescribeInflateError(code_)).Value());
      return;
    }
    deferred_.Resolve(Napi::Number::New(env, written_));
  }

  void OnError(const Napi::Error &error) override {
    inflater_->busy_ = false;
    deferred_.Reject(error.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  GzipInflater *inflater_;
  Napi::ObjectReference owner_;
  Napi::Reference<Napi::Buffer<uint8_t>> out_;
  uint8_t *out_data_;
  uint32_t out_size_;
  uint32_t written_ = 0;
  int code_ = ISAL_DECOMP_OK;
};

Napi::Value GzipInflater::Run(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (busy_) throw Napi::Error::New(env, "GzipInflater: run while another run is pending");
  if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "GzipInflater.run: expected a Buffer");
  auto out = info[0].As<Napi::Buffer<uint8_t>>();
  if (out.Length() == 0 || out.Length() > UINT32_MAX) throw Napi::RangeError::New(env, "GzipInflater.run: output must be 1 byte to 4 GiB");
  auto *worker = new InflateWorker(info.This().As<Napi::Object>(), this, out);
  busy_ = true;
  worker->Queue();
  return worker->Promise();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("GzipInflater", GzipInflater::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(berth_inflate, Init)
