// A tensor-parallel model copy for tests: this test process is rank 0, the followers are real processes.
import type { Backend } from "../../ffi/backend.ts";
import { type LoadedModel, loadModel } from "../../runtime/model/load-model.ts";
import { ModelId, TensorParallelGroup } from "../../runtime/parallel/leader.ts";

export interface ParallelModel {
  group: TensorParallelGroup;
  loaded: LoadedModel;
  close(): void;
}

export function openParallel(backend: Backend, modelDir: string, numRanks: number): ParallelModel {
  const group = TensorParallelGroup.start(backend, {
    numRanks,
    modelDir,
    followerThreads: 1,
    onFollowerExit: (message) => console.error(message),
  });
  const loaded = loadModel(modelDir, backend, { parallel: group.placement(ModelId.Target) });
  group.ready();
  return {
    group,
    loaded,
    close: () => {
      group.shutdown();
      loaded.dispose();
    },
  };
}
