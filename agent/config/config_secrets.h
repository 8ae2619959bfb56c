/*
 * The check that a configuration file holding secrets, and the secret
 * files it reads, are not readable by other users.
 */
#ifndef LF_AGENT_CONFIG_CONFIG_SECRETS_H
#define LF_AGENT_CONFIG_CONFIG_SECRETS_H

#include "lf/conf.h"

/*
 * Returns warnings, one per line and to free with lf_free(). One is for
 * the file at `path` when it is readable by its group or by others and
 * the document `root` loaded from it contains a secret: a non-empty
 * password, api_key, bearer_token, cloud.auth, secret_access_key,
 * session_token or key_passphrase, inline or read through ${file:...}, or
 * a URL with a password. That warning names the file, the first such key
 * and the fix. Another is for each ${file:...} secret file that was
 * readable by its group or by others when it was read, naming the file,
 * the key that reads it and the fix. No warning contains a secret.
 * Returns NULL when there is no warning.
 */
char *lf_config_check_secrets(const char *path,
                              const struct lf_conf_node *root);

/*
 * Logs each line of `warnings`, as returned by lf_config_check_secrets(),
 * as a warning of its own. Accepts NULL.
 */
void lf_config_log_secrets(const char *warnings);

#endif
