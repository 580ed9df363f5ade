import { renameSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'

/**
 * Preloaded into a relay by bench/gc-cost.ts (`--import`): the first SIGUSR2
 * starts V8's sampling heap profiler, counting objects the garbage collector
 * has already freed too (the allocation rate, not what stays alive, which is
 * all `--heap-prof` reports); the second writes the profile to
 * ALLOC_PROFILE_PATH. In-process (node:inspector), so no debugger port and no
 * WebSocket client are needed.
 */
const path = process.env.ALLOC_PROFILE_PATH ?? 'alloc.heapprofile'
const session = new Session()
session.connect()
let sampling = false
process.on('SIGUSR2', () => {
  if (!sampling) {
    sampling = true
    session.post('HeapProfiler.startSampling', { samplingInterval: 2048, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
    return
  }
  sampling = false
  session.post('HeapProfiler.stopSampling', (err, result) => {
    // Written aside, then renamed: the bench waits for the file to appear and must not read half of it.
    writeFileSync(`${path}.part`, err === null ? JSON.stringify(result.profile) : JSON.stringify({ error: err.message }))
    renameSync(`${path}.part`, path)
  })
})
