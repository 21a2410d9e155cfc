// Training checkpoints for `officina finetune --save-every N` / `--resume`,
// for LoRA adapters and full-parameter training alike: OUT/checkpoint/ holds
//   state.safetensors  every trainable tensor under its name (ParamTensor)
//                      and its AdamW moments beside it ("pair.0.a" has
//                      "pair.0.m_a" and "pair.0.v_a"; "blk.0.attn_q.weight"
//                      has "blk.0.attn_q.m_weight" and ".v_weight");
//   state.json         the data position (step, epoch, index into the
//                      epoch's sequences), the optimizer's step count and the
//                      run's identity (mode, seed, batch, ...).
// The data order and dropout masks are functions of the seed, the epoch and
// the step, so these are all the random state a run needs to continue
// exactly. The directory is written as checkpoint.tmp and renamed into
// place, so a checkpoint is either the old one or the new one, never half.
// Thread-safety: pure functions apart from the files.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/error.h"
#include "base/json_util.h"
#include "train/adamw.h"

namespace officina {

struct TrainPosition {
  int64_t step = 0;   // optimizer steps done
  int64_t epoch = 0;  // current epoch
  int64_t index = 0;  // next sequence of the epoch
};

// Writes OUT/checkpoint. `identity` (a JSON object) is stored and must match
// on load. Fails with "PATH: ..." on I/O errors.
Result<void> save_train_checkpoint(const std::string& out, std::span<const ParamTensor> tensors, AdamW& optimizer,
                                   const TrainPosition& position, const Json& identity);

// The directory holding OUT's checkpoint: OUT/checkpoint, or
// OUT/checkpoint.old when a save was cut short between its two renames;
// empty when there is none.
std::string checkpoint_dir(const std::string& out);

// Reads OUT/checkpoint into the tensors' values and the optimizer. Fails
// when there is none, when a value of `identity` differs ("--resume: the
// checkpoint has seed = 9 but this run has 10") or a tensor is missing or of
// another size; the tensors may then be partly overwritten.
Result<TrainPosition> load_train_checkpoint(const std::string& out, std::span<const ParamTensor> tensors,
                                            AdamW& optimizer, const Json& identity);

}  // namespace officina
