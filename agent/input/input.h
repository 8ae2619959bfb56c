/*
 * File inputs: discovery of the files that the inputs' globs match, one
 * harvester per open file, and reading driven by inotify (stat polling
 * where inotify cannot watch) with a periodic rescan as a safety net.
 * Lines go to a sink, which may reject a line when the output is full.
 * The harvester then pauses at that line's offset until
 * lf_inputs_resume().
 */
#ifndef LF_AGENT_INPUT_INPUT_H
#define LF_AGENT_INPUT_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "agent/config/config.h"
#include "agent/input/cut.h"
#include "agent/input/line_reader.h"
#include "agent/registry/registry.h"

/* File details passed to the sink with every line. */
struct lf_file_info {
    const struct lf_input_config *input;
    const char *path;      /* current name; changes on rename */
    size_t path_len;
    uint32_t path_version; /* incremented whenever `path` changes */
    uint64_t file_id; /* see agent/input/file_id.h; set by open_file */
    uint64_t base_id; /* the id of generation 0 (lf_file_id()) */
    uint64_t head_hash; /* lf_file_head_hash() of the first line */
    bool compressed;  /* gzip: offsets count uncompressed bytes */
    uint32_t generation; /* the lowest generation open_file may choose */
    uint64_t doc_file_id; /* file id in document ids; set by open_file */
    /*
     * Offset that reading starts at when the registry has no entry for the
     * file: 0, a line start near the end with start_position: end, or for
     * a rotated copy the offset its original was truncated at.
     */
    uint64_t start_offset;
    /*
     * Set by open_file when the inode held other content that was read to
     * replaced_offset, such as a file truncated while the agent was
     * stopped: that content's first line hash and document file id, so
     * its rotated copy can be looked for. Zero otherwise.
     */
    uint64_t replaced_head_hash;
    uint64_t replaced_doc_file_id;
    uint64_t replaced_offset;
    uint64_t dev;
    uint64_t ino;
    uint64_t size;
};

struct lf_input_sink {
    void *arg;
    /*
     * The file's head is known. Chooses its generation and ids, storing
     * them in info->generation, info->file_id and info->doc_file_id.
     * Returns the offset to resume from and stores the sink's per-file
     * context in *source_out.
     */
    uint64_t (*open_file)(void *arg, struct lf_file_info *info,
                          void **source_out);
    /*
     * Returns the cuts saved for `source` (see agent/input/cut.h), which
     * reading must honour; valid until the next call for `source`.
     */
    const struct lf_cuts *(*cuts)(void *arg, void *source);
    /*
     * Records a cut. A cut with one of LF_CUT_ENDS is saved durably before
     * the event that ends there is sent, so a restart ends that event at
     * the same offset. Other cuts are saved with the next offset.
     */
    void (*add_cut)(void *arg, void *source, const struct lf_cut *cut);
    /* Returns 0, or LF_EFULL to pause the file at this line. */
    int (*on_line)(void *arg, void *source, const struct lf_file_info *info,
                   const struct lf_line *line);
    /*
     * The input's line filters dropped an event, so the saved offset may
     * move up to its lf_line.commit_offset.
     */
    void (*on_filtered)(void *arg, void *source, uint64_t commit_offset);
    /*
     * No more lines come from `source`. With `truncated`, the file was
     * truncated and its old offsets no longer describe it: results still
     * due for `source` must not move the registry.
     */
    void (*close_file)(void *arg, void *source, bool truncated);
    /*
     * Returns the number of lines of `source` still waiting for a result.
     * A harvester yields its slot under harvester_limit only at zero, so
     * the file resumes from a registry offset that covers every line read.
     */
    size_t (*pending)(void *arg, void *source);
    /* With `once`, every matched file has been read to its end. */
    void (*on_caught_up)(void *arg);
};

struct lf_input_stats {
    uint64_t lines_read; /* events sent: a joined group counts once */
    uint64_t bytes_read;
    uint64_t files_opened;
    uint64_t files_closed;
    uint64_t lines_truncated;
    uint64_t lines_filtered;  /* dropped by include_lines / exclude_lines */
    uint64_t files_truncated; /* truncated in place while being read */
    uint64_t files_failed;    /* matched files that could not be opened */
    uint64_t inotify_overflows;
    uint64_t files_idle;      /* descriptors released at a file's end */
    /* Unread bytes of removed files closed by close.* time limits. */
    uint64_t bytes_abandoned;
    /* Bytes written before a truncation that no rotated copy held. */
    uint64_t truncated_bytes_lost;
    size_t harvesters_open;
    size_t paths_polled;      /* watched by stat polling, not inotify */
};

/* Counters of one input since start; read with lf_inputs_input_counts(). */
struct lf_input_counts {
    uint64_t lines_read; /* events sent, as lf_input_stats.lines_read */
    uint64_t bytes_read;
};

struct lf_inputs;

/*
 * Creates the inputs of `config` on `loop`. With `once`, files are read to
 * their current end and closed, nothing is watched, and on_caught_up fires
 * when all are done. `config` and `sink` are borrowed.
 */
int lf_inputs_new(uv_loop_t *loop, const struct lf_config *config,
                  const struct lf_input_sink *sink, bool once,
                  struct lf_inputs **out);

/* Runs the first scan and starts watching. */
void lf_inputs_start(struct lf_inputs *inputs);

/*
 * Reads the files of registry entries that no glob matches any more, such
 * as a log renamed by rotation while the agent was stopped. Each is looked
 * for by inode in the folder it was last read in, and read from the saved
 * offset to its end. Call after lf_inputs_start().
 */
void lf_inputs_adopt(struct lf_inputs *inputs, struct lf_registry *registry);

/* Continues reading paused files: the sink has room again. */
void lf_inputs_resume(struct lf_inputs *inputs);

/*
 * Stops discovery and reads every open file to its current end, then
 * calls `cb(arg)` from the loop once no harvester has bytes queued and
 * none is paused by a full sink. The call may never come while the sink
 * stays full, so the caller bounds the wait. lf_inputs_stop() cancels it.
 */
void lf_inputs_read_to_end(struct lf_inputs *inputs, void (*cb)(void *arg),
                           void *arg);

/* Stops discovery and reading; open files stay open until close. */
void lf_inputs_stop(struct lf_inputs *inputs);

void lf_inputs_stats(const struct lf_inputs *inputs,
                     struct lf_input_stats *out);

/*
 * Stores the id and counters of the input at `index` among every input
 * id of this run: those of the configuration at start first, in order,
 * then those that reloads added. Counters survive the reloads that
 * change or remove their input. Returns false for an index past the end.
 */
bool lf_inputs_input_counts(const struct lf_inputs *inputs, size_t index,
                            const char **id_out, struct lf_input_counts *out);

/*
 * Switches to `config`, a reloaded configuration. `restart` has one flag
 * per entry of config->inputs, set for an input that is new or whose
 * settings changed. The harvesters and waiting files of those inputs and
 * of inputs that `config` no longer has are stopped at once: the lines
 * they read are sent, and the registry keeps the offset to resume from.
 * Flagged inputs are not scanned until lf_inputs_start_deferred(), so the
 * caller can first wait for the results of what was sent. Harvesters of
 * the other inputs keep running, untouched, with the configuration they
 * were opened with. Both configurations are borrowed: the old one until
 * lf_inputs_use_config() returns false for it.
 */
void lf_inputs_reload(struct lf_inputs *inputs, const struct lf_config *config,
                      const bool *restart);

/*
 * Starts the inputs that lf_inputs_reload() deferred with a scan. Then
 * reads to its end each file of a changed input that the reload stopped
 * and that was renamed away from the globs since, from its registry
 * offset.
 */
void lf_inputs_start_deferred(struct lf_inputs *inputs);

/*
 * Returns true while `config` is the current configuration, or an open
 * harvester or a file waiting under harvester_limit refers to one of its
 * inputs.
 */
bool lf_inputs_use_config(const struct lf_inputs *inputs,
                          const struct lf_config *config);

/* Closes every file and handle, then frees the inputs. */
void lf_inputs_close(struct lf_inputs *inputs);

#endif
