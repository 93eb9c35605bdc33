//! The syncgov contracts as Rust types: messages, clients and servers generated
//! from `proto/` at build time, plus the descriptor set for server reflection.
//! Every client and server decodes with [`codec::ProtoCodec`].

pub mod codec;

/// `syncgov.quota.v1`: the quota governor's contract.
pub mod quota {
    /// Version 1 of the contract.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("syncgov.quota.v1");
    }
}

/// `syncgov.taxonomy.v1`: error categories, types and suspension reasons.
pub mod taxonomy {
    /// Version 1 of the taxonomy.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("syncgov.taxonomy.v1");
    }
}

/// `syncgov.syncerrors.v1`: the sync-error service's contract.
pub mod syncerrors {
    /// Version 1 of the contract.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("syncgov.syncerrors.v1");
    }
}

/// Envoy's rate limit service protocol (v3), as much as the governor serves.
pub mod envoy {
    /// `envoy.extensions.*`.
    pub mod extensions {
        /// `envoy.extensions.common.*`.
        pub mod common {
            /// `envoy.extensions.common.ratelimit.*`.
            pub mod ratelimit {
                /// `envoy.extensions.common.ratelimit.v3`: descriptors.
                pub mod v3 {
                    #![allow(missing_docs, clippy::all)]
                    tonic::include_proto!("envoy.extensions.common.ratelimit.v3");
                }
            }
        }
    }
    /// `envoy.service.*`.
    pub mod service {
        /// `envoy.service.ratelimit.*`.
        pub mod ratelimit {
            /// `envoy.service.ratelimit.v3`: the rate limit service.
            pub mod v3 {
                #![allow(missing_docs, clippy::all)]
                tonic::include_proto!("envoy.service.ratelimit.v3");
            }
        }
    }
}

/// Encoded `FileDescriptorSet` of every syncgov contract, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/syncgov_descriptor.bin"));
