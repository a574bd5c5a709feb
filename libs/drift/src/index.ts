export { psi, psiEdges, quantileSorted, type PsiBin, type PsiOptions, type PsiResult } from './psi';
