/*
 * The check that a configuration file holding secrets is not readable by
 * other users.
 */
#ifndef LF_AGENT_CONFIG_CONFIG_SECRETS_H
#define LF_AGENT_CONFIG_CONFIG_SECRETS_H

#include "lf/conf.h"

/*
 * Returns a warning, to free with lf_free(), when the file at `path` is
 * readable by its group or by others and the document `root` loaded from
 * it contains a secret: a non-empty password, api_key, bearer_token,
 * cloud.auth, secret_access_key, session_token or key_passphrase, inline
 * or read through ${file:...}, or a URL with a password. The warning
 * names the file, the first such key and the fix, never the secret.
 * Returns NULL otherwise, and when the file cannot be stat'ed.
 */
char *lf_config_check_secrets(const char *path,
                              const struct lf_conf_node *root);

#endif
