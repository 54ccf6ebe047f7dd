// The Windows suite (helpers/suite.ts) through the WinFsp backend, under Wine, against the
// WinFsp driver double built from the real WinFsp headers (doubles/README.md).
import { windowsSuite } from './helpers/suite'

windowsSuite('winfsp')
