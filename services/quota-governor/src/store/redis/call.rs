//! A script call written straight into one command: `EVALSHA`, the
//! script's hash, the number of keys, then the keys and the arguments as
//! they are added. The decisions' scripts are called this way because
//! `redis::ScriptInvocation` keeps every key and argument in a vector of
//! its own and copies them all into a command on each call.

use std::fmt;

use redis::{Cmd, ErrorKind, FromRedisValue, RedisResult, Script, ServerErrorKind, ToRedisArgs};

/// One call of a script, built key by key and argument by argument.
pub struct ScriptCall<'a> {
    script: &'a Script,
    cmd: Cmd,
}

impl fmt::Debug for ScriptCall<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys and arguments name orgs and consumers: only the script shows.
        f.debug_struct("ScriptCall")
            .field("script", &self.script.get_hash())
            .finish_non_exhaustive()
    }
}

impl<'a> ScriptCall<'a> {
    /// A call of `script` over `keys` keys, which are added first, before
    /// any argument.
    pub fn new(script: &'a Script, keys: usize) -> Self {
        // Room for about as many arguments as keys, and for keys of the
        // governor's length (about 45 bytes), so that the command is not
        // moved as it grows.
        let mut cmd = Cmd::with_capacity(3 + 2 * keys, 64 + 64 * keys);
        cmd.arg("EVALSHA").arg(script.get_hash()).arg(keys);
        Self { script, cmd }
    }

    /// Adds keys or arguments, in order.
    pub fn arg(&mut self, arg: impl ToRedisArgs) -> &mut Self {
        self.cmd.arg(arg);
        self
    }

    /// Runs the call; a Redis that does not have the script yet (restarted,
    /// flushed, failed over) is given it and asked again.
    pub async fn invoke<T: FromRedisValue>(
        &self,
        conn: &mut impl redis::aio::ConnectionLike,
    ) -> RedisResult<T> {
        match self.cmd.query_async(conn).await {
            Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                self.script.load_async(conn).await?;
                self.cmd.query_async(conn).await
            }
            answer => answer,
        }
    }
}
