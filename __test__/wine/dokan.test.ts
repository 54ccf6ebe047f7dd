// The Windows suite (helpers/suite.ts) through the Dokan backend, under Wine, against the
// real Dokany user-mode library with a fake driver (doubles/README.md).
import { windowsSuite } from './helpers/suite'

windowsSuite('dokan')
