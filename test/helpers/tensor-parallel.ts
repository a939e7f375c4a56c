// A tensor-parallel model copy for tests: this test process is rank 0, the followers are real processes.
import type { Backend } from "../../ffi/backend.ts";
import { loadDraft, type LoadedDraft } from "../../runtime/eagle/load-draft.ts";
import { type LoadedModel, loadModel } from "../../runtime/model/load-model.ts";
import { ModelId, TensorParallelGroup } from "../../runtime/parallel/leader.ts";

export interface ParallelModel {
  group: TensorParallelGroup;
  loaded: LoadedModel;
  draft: LoadedDraft | null;
  close(): void;
}

export function openParallel(backend: Backend, modelDir: string, numRanks: number, draftDir?: string): ParallelModel {
  const group = TensorParallelGroup.start(backend, {
    numRanks,
    modelDir,
    draftDir,
    followerThreads: 1,
    onFollowerExit: (message) => console.error(message),
  });
  const loaded = loadModel(modelDir, backend, { parallel: group.placement(ModelId.Target) });
  const draft = draftDir ? loadDraft(draftDir, backend, loaded, group.placement(ModelId.Draft).beforeStep) : null;
  group.ready();
  return {
    group,
    loaded,
    draft,
    close: () => {
      group.shutdown();
      draft?.dispose();
      loaded.dispose();
    },
  };
}
