// Subject "mountkit (JS)": every request, data included, is answered by JavaScript handlers.
import { benchFileSystem, serveMountkit } from './mountkit-fs'
import { subjectArgs } from './serve'

const args = subjectArgs()
void serveMountkit(args, benchFileSystem(args.model))
