// Entry point: styles, client-side routing (links inside the app use history.pushState).
import './style.css';
import { route } from './app';

window.addEventListener('popstate', () => void route());
void route();
