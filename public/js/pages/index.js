// "/": analysts go to their projects; anyone not signed in goes to sign-in.
import { currentUser } from "../api.js";

const user = await currentUser().catch(() => null);
location.replace(user ? "/projects" : "/login");
