//! The async runtime, shaped by how many CPUs this process may use.

use std::num::NonZeroUsize;

use tokio::runtime::{Builder, Runtime};

/// Which tokio scheduler runs the process's tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduler {
    /// Every task on the thread that started the runtime.
    OneThread,
    /// tokio's work-stealing scheduler, one worker per CPU.
    WorkerPerCpu,
}

impl Scheduler {
    /// With one CPU to run on (a `taskset`, a container's CPU quota: `available_parallelism`
    /// counts both), the work-stealing scheduler has no second core to steal for, and a
    /// request on the proxied path cost about a tenth more CPU with it, all of it system time
    /// (BENCHMARKS.md, sixth round). Where the number cannot be read, the work-stealing
    /// scheduler is kept: it is the right one wherever there is more than one CPU.
    pub fn for_cpus(available: Option<NonZeroUsize>) -> Self {
        match available {
            Some(cpus) if cpus.get() == 1 => Scheduler::OneThread,
            _ => Scheduler::WorkerPerCpu,
        }
    }

    pub fn build(self) -> std::io::Result<Runtime> {
        let mut builder = match self {
            Scheduler::OneThread => Builder::new_current_thread(),
            Scheduler::WorkerPerCpu => Builder::new_multi_thread(),
        };
        builder.enable_all().build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cpu_gets_one_thread_and_anything_else_a_worker_per_cpu() {
        assert_eq!(
            Scheduler::for_cpus(NonZeroUsize::new(1)),
            Scheduler::OneThread
        );
        assert_eq!(
            Scheduler::for_cpus(NonZeroUsize::new(2)),
            Scheduler::WorkerPerCpu
        );
        assert_eq!(Scheduler::for_cpus(None), Scheduler::WorkerPerCpu);
    }

    #[test]
    fn each_shape_builds_the_scheduler_it_names() {
        use tokio::runtime::RuntimeFlavor;
        let flavor = |scheduler: Scheduler| {
            let runtime = scheduler.build().expect("runtime");
            runtime.block_on(async { tokio::runtime::Handle::current().runtime_flavor() })
        };
        assert_eq!(flavor(Scheduler::OneThread), RuntimeFlavor::CurrentThread);
        assert_eq!(flavor(Scheduler::WorkerPerCpu), RuntimeFlavor::MultiThread);
    }
}
